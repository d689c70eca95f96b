"""Shape and attribute validation shared by the plugins (build time) and their twins: a bad call
is rejected with a message naming the plugin and the field."""
import numpy as np
import pytest


def zeros(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


GOOD_DCN = dict(input=zeros(2, 4, 5, 6), offset=zeros(2, 18, 9, 11), weight=zeros(8, 4, 3, 3), bias=zeros(8))


@pytest.mark.parametrize("field, bad, message", [
    ("input", zeros(4, 5, 6), "input must be [B, C, Hl, Wl]"),
    ("input", zeros(2, 4, 0, 6), "input must be [B, C, Hl, Wl] with sizes >= 1"),
    ("offset", zeros(2, 9, 9, 11), "offset must be [B, 18, H, W]"),
    ("offset", zeros(3, 18, 9, 11), "offset must be [B, 18, H, W] with B = input batch (2)"),
    ("weight", zeros(8, 3, 3, 3), "weight must be [Cout, C, 3, 3] with C = input channels (4)"),
    ("weight", zeros(8, 4, 1, 1), "weight must be [Cout, C, 3, 3]"),
    ("bias", zeros(7), "bias must be [Cout] with Cout = weight.shape[0] (8)"),
    ("bias", zeros(8, 1), "bias must be [Cout]"),
])
def test_pyramid_dcn_rejects_bad_shapes_naming_the_field(twins, field, bad, message):
    with pytest.raises(ValueError) as error:
        twins.pyramid_dcn(**{**GOOD_DCN, field: bad})
    assert str(error.value).startswith(f"LSNetPyramidDCN: {message}")
    assert "got [" in str(error.value)


def test_pyramid_dcn_rejects_mixed_dtypes(twins):
    with pytest.raises(ValueError, match="LSNetPyramidDCN: inputs must all be float16 or all float32"):
        twins.pyramid_dcn(**{**GOOD_DCN, "weight": GOOD_DCN["weight"].astype(np.float16)})


def decode_inputs(levels=((8, 10), (4, 5)), batch=2, classes=3, num_landmarks=4, box_vectors=False):
    arrays = []
    for h, w in levels:
        arrays += [zeros(batch, classes, h, w), zeros(batch, 4 * (num_landmarks + 1), h, w)]
        if box_vectors:
            arrays.append(zeros(batch, 20, h, w))
    return arrays


GOOD_DECODE = dict(num_landmarks=4, strides=[8, 16], box_source=0)


@pytest.mark.parametrize("change, message", [
    (dict(levels=decode_inputs()[:3]),
     "expects 2 inputs per level (cls_logits_l, vectors_l) for 2 levels (one per stride), got 3"),
    (dict(levels=decode_inputs(box_vectors=True)[:5], box_source=2),
     "expects 3 inputs per level (cls_logits_l, vectors_l, box_vectors_l) for 2 levels (one per stride), got 5"),
    (dict(levels=decode_inputs()[:1] + [zeros(2, 24, 8, 10)] + decode_inputs()[2:]),
     "vectors_0 must be [B, 4*(num_landmarks+1), H_0, W_0] = [2, 20, 8, 10], got [2, 24, 8, 10]"),
    (dict(levels=decode_inputs()[:3] + [zeros(2, 20, 4, 6)]),
     "vectors_1 must be [B, 4*(num_landmarks+1), H_1, W_1] = [2, 20, 4, 5], got [2, 20, 4, 6]"),
    (dict(levels=decode_inputs()[:2] + [zeros(2, 5, 4, 5)] + decode_inputs()[3:]),
     "cls_logits_1 must be [B, C, H_1, W_1] with B, C as in cls_logits_0 = [2, 3, 4, 5], got [2, 5, 4, 5]"),
    (dict(levels=[zeros(2, 3, 8)] + decode_inputs()[1:]), "cls_logits_0 must be [B, C, H_0, W_0], got [2, 3, 8]"),
    (dict(levels=decode_inputs(num_landmarks=17, box_vectors=True)[:2] + [zeros(2, 16, 8, 10)]
          + decode_inputs(num_landmarks=17, box_vectors=True)[3:], num_landmarks=17, box_source=2),
     "box_vectors_0 must be [B, 20, H_0, W_0] = [2, 20, 8, 10], got [2, 16, 8, 10]"),
    (dict(box_source=3), "box_source must be 0 (extreme_points), 1 (landmark_extent) or 2 (side_midpoints), got 3"),
    (dict(levels=decode_inputs(num_landmarks=3), num_landmarks=3),
     "box_source 0 (extreme_points) needs num_landmarks >= 4 (top, left, bottom, right), got 3"),
    (dict(strides=[]), "strides must hold 1 to 8 ints (one per level), got []"),
    (dict(strides=[8, 0]), "strides must be >= 1, got [8, 0]"),
    (dict(pre_nms_top_k=0), "pre_nms_top_k must be >= 1, got 0"),
    (dict(max_detections=0), "max_detections must be >= 1, got 0"),
    (dict(max_candidates=20000), "max_candidates must be in [1, 16384], got 20000"),
    (dict(score_threshold=float("nan")), "score_threshold must be finite"),
])
def test_decode_rejects_bad_inputs_and_attributes_naming_the_field(twins, change, message):
    call = {"levels": decode_inputs(), **GOOD_DECODE, **change}
    with pytest.raises(ValueError) as error:
        twins.decode(**call)
    assert str(error.value) == f"LSNetDecode: {message}"


def test_valid_calls_pass_validation(twins):
    assert twins.pyramid_dcn(**GOOD_DCN).shape == (2, 8, 9, 11)
    out = twins.decode(decode_inputs(), **GOOD_DECODE)
    assert out["landmarks"].shape == (2, 100, 4, 2)
