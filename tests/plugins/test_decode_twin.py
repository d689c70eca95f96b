"""CPU twin of LSNetDecode (trt_plugins/decode) against the reference `lsnet.model.decode.decode`.

The twin runs the CUDA kernels' own element steps (decode_steps.cuh) in loops, so these tests pin
the plugin's decoding, top-k, candidate order and class-wise NMS (docs/lsnet-official.md §8) without a GPU.
"""
from pathlib import Path

import numpy as np
import pytest
import torch

from decode_scenes import LEVEL_SIZES, STRIDES, plugin_inputs, realistic_levels

from lsnet.description import BOX_SOURCES
from lsnet.model.decode import LevelOutputs, decode

def reference(levels, num_landmarks, box_source, pre_nms_top_k, score_threshold, max_detections, iou=0.6):
    canvas = (LEVEL_SIZES[0][0] * STRIDES[0], LEVEL_SIZES[0][1] * STRIDES[0])
    out = decode(levels, STRIDES, canvas, num_landmarks=num_landmarks, box_source=BOX_SOURCES[box_source],
                 pre_nms_top_k=pre_nms_top_k, score_threshold=score_threshold, nms_iou_threshold=iou,
                 max_detections=max_detections)
    return {k: v.numpy() for k, v in out.items()}


def twin(twins, levels, num_landmarks, box_source, pre_nms_top_k, score_threshold, max_detections, max_candidates=4096,
         dtype=np.float32):
    return twins.decode(plugin_inputs(levels, dtype), num_landmarks, STRIDES, box_source, pre_nms_top_k,
                        score_threshold, 0.6, max_detections, max_candidates)


def assert_same_detections(ours, ref):
    """Same count, same kept (class, box) sequence in the same order; values within the stated tolerances."""
    np.testing.assert_array_equal(ours["num_dets"], ref["num_dets"])
    np.testing.assert_array_equal(ours["labels"], ref["labels"])
    np.testing.assert_allclose(ours["boxes"], ref["boxes"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(ours["scores"], ref["scores"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours["landmarks"], ref["landmarks"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("num_landmarks, box_source", [(4, 0), (36, 1), (17, 2)],
                         ids=["bbox-extreme-points", "segm-landmark-extent", "pose-side-midpoints"])
@pytest.mark.parametrize("max_detections", [100, 10], ids=["zero-padded", "truncated"])
def test_twin_equals_reference_decode(twins, num_landmarks, box_source, max_detections):
    levels = realistic_levels(num_landmarks, box_source == 2)
    args = (num_landmarks, box_source, 200, 0.05, max_detections)
    ref = reference(levels, *args)
    kept = ref["num_dets"].ravel()
    assert all(kept == 10) if max_detections == 10 else all((0 < kept) & (kept < 100))
    assert_same_detections(twin(twins, levels, *args), ref)


def test_float16_maps_decode_exactly_like_float32_maps_of_the_same_values(twins):
    """FP16 storage, FP32 math: the half path gives the FP32 path's result on the half-rounded maps.
    (Against the reference directly, half maps have many exact score ties, whose order torch leaves open.)"""
    levels = realistic_levels(17, True, seed=1)
    rounded = [LevelOutputs(*(t.half().float() for t in (lv.cls_logits, lv.landmark_vectors, lv.box_vectors)))
               for lv in levels]
    from_half = twin(twins, levels, 17, 2, 200, 0.05, 100, dtype=np.float16)
    from_float = twin(twins, rounded, 17, 2, 200, 0.05, 100)
    for name in from_float:
        np.testing.assert_array_equal(from_half[name], from_float[name], err_msg=name)


def sorted_candidate_scores(levels, image, pre_nms_top_k, score_threshold):
    """Probabilities of every (top-k location, class) pair above the threshold, best first (docs/lsnet-official.md §8.2)."""
    scores = []
    for level in levels:
        probs = level.cls_logits[image].sigmoid().flatten(1).t()
        top = probs.max(dim=1).values.topk(min(pre_nms_top_k, probs.shape[0])).indices
        pairs = probs[top].flatten()
        scores.append(pairs[pairs > score_threshold])
    return torch.cat(scores).sort(descending=True).values.numpy()


def test_candidate_cap_keeps_the_best_candidates_and_is_exact_below_it(twins):
    """max_candidates caps the (location, class) pairs entering NMS, best first. With no more
    candidates than the cap the decode equals the reference; with more, it equals the reference's
    kept detections among the cap best candidates (greedy NMS only looks at higher scores)."""
    levels = realistic_levels(4, False, seed=2, background=-1.0)  # thousands of candidates
    args = (4, 0, 1000, 0.05, 100)
    ref = reference(levels, *args)
    counts = [len(sorted_candidate_scores(levels, b, 1000, 0.05)) for b in range(2)]
    assert min(counts) > 2000 and ref["num_dets"].max() < 100  # nothing cut by max_detections

    assert_same_detections(twin(twins, levels, *args, max_candidates=max(counts)), ref)

    cap = 100
    ours = twin(twins, levels, *args, max_candidates=cap)
    for b in range(2):
        last_admitted = sorted_candidate_scores(levels, b, 1000, 0.05)[cap - 1]
        n_ref = ref["num_dets"][b, 0]
        expected = np.flatnonzero(ref["scores"][b, :n_ref] >= last_admitted)
        assert len(expected) < n_ref  # the cap drops detections the reference keeps
        assert ours["num_dets"][b, 0] == len(expected)
        np.testing.assert_array_equal(ours["labels"][b, :len(expected)], ref["labels"][b, expected])
        np.testing.assert_allclose(ours["boxes"][b, :len(expected)], ref["boxes"][b, expected], rtol=0, atol=1e-4)
        np.testing.assert_allclose(ours["scores"][b, :len(expected)], ref["scores"][b, expected], rtol=0, atol=1e-6)


def test_no_candidate_gives_zero_padded_outputs(twins):
    levels = realistic_levels(17, True, seed=3, background=-30.0)
    for level in levels:
        level.cls_logits.clamp_(max=-10.0)
    ours = twin(twins, levels, 17, 2, 200, 0.05, 100)
    assert ours["num_dets"].tolist() == [[0], [0]]
    for name in ("boxes", "scores", "labels", "landmarks"):
        assert not ours[name].any(), name


def one_level(cls, vectors):
    return [np.asarray(cls, np.float32)[None], np.asarray(vectors, np.float32)[None]]


def test_exact_score_ties_resolve_by_location_then_class_index(twins):
    """torch's topk/sort leave tie order unspecified; the plugin orders by (score desc, index asc)."""
    # One 1×3 level, all logits equal; extreme-point vectors of 2 px make three disjoint boxes.
    vectors = np.zeros((20, 1, 3))
    vectors[[0, 6, 9, 15]] = 0.25  # t of top, l of left, b of bottom, r of right (× stride 8)
    common = dict(num_landmarks=4, strides=[8], box_source=0, score_threshold=0.05, iou_threshold=0.6,
                  max_detections=3, max_candidates=16)
    top_two = twins.decode(one_level(np.zeros((1, 1, 3)), vectors), pre_nms_top_k=2, **common)
    assert top_two["num_dets"][0, 0] == 2
    np.testing.assert_array_equal(top_two["boxes"][0, :2, 0], [0.0, 6.0])  # locations 0 then 1 (x1 = 8x − 2, ≥ 0)
    two_classes = twins.decode(one_level(np.zeros((2, 1, 3)), vectors), pre_nms_top_k=1, **common)
    np.testing.assert_array_equal(two_classes["labels"][0, :2], [0, 1])  # one location, class 0 then 1


COMMITTED = Path(__file__).resolve().parents[2] / "models" / "lsnet_bbox_r10_synth.pt"


@pytest.mark.skipif(not COMMITTED.is_file(), reason=f"{COMMITTED.name} is not in models/ yet")
def test_twin_equals_reference_decode_on_the_committed_models_head_outputs(twins):
    """Real head outputs of the trained model on synthetic val images (issue #4, done-when 3)."""
    from lsnet.data.synth import DEFAULT_SIZE_RANGE, scene
    from lsnet.model.checkpoint import load_model
    from lsnet.runtime.preprocess import preprocess

    model, description = load_model(COMMITTED)
    images = [scene("bbox", seed=0, split="val", index=i, size_range=DEFAULT_SIZE_RANGE, max_objects=6)[0]
              for i in range(4)]
    batch, _ = preprocess(images, description)
    with torch.no_grad():
        levels = model.level_outputs(model(torch.from_numpy(batch)))
    d = description
    ref = decode(levels, list(d.strides), batch.shape[-2:], num_landmarks=d.num_landmarks, box_source=d.box_source,
                 pre_nms_top_k=d.pre_nms_top_k, score_threshold=d.score_threshold,
                 nms_iou_threshold=d.nms_iou_threshold, max_detections=d.max_detections)
    ours = twins.decode(plugin_inputs(levels), d.num_landmarks, list(d.strides), BOX_SOURCES.index(d.box_source),
                        d.pre_nms_top_k, d.score_threshold, d.nms_iou_threshold, d.max_detections, 4096)
    assert (ref["num_dets"] > 0).all()
    assert_same_detections(ours, {k: v.numpy() for k, v in ref.items()})
