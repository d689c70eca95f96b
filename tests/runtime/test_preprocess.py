"""`lsnet.runtime.preprocess`: the keep-ratio size rule, and the frames model's host side (stacking)."""
from fractions import Fraction

import numpy as np
import pytest

from lsnet.errors import LSNetError
from lsnet.runtime.preprocess import Letterbox, fit_scale, stack_frames


def rounded_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2))  # floor(x + ½) of an exact rational


@pytest.mark.parametrize("original, target", [((1408, 55), (192, 192)), ((45, 1920), (800, 1344)),
                                              ((1080, 1920), (192, 192)), ((480, 640), (128, 160)),
                                              ((7, 3), (64, 64)), ((3000, 1), (128, 128))])
def test_fit_scale_rounds_the_exact_ratio_half_up(original, target):
    (h, w), (th, tw) = original, target
    scale = min(Fraction(th, h), Fraction(tw, w))
    expected = (max(1, rounded_half_up(h * scale)), max(1, rounded_half_up(w * scale)))
    assert fit_scale(original, target) == (pytest.approx(float(scale)), expected)
    # 1408×55 into 192²: 55 · 192/1408 is exactly 7.5, which float64 computes as 7.4999… and truncates to 7
    if original == (1408, 55):
        assert expected == (192, 8)


def test_stack_frames_makes_one_uint8_batch_without_copying_a_single_frame():
    frame = np.zeros((48, 64, 3), np.uint8)
    batch, letterboxes = stack_frames([frame])
    assert batch.shape == (1, 48, 64, 3) and batch.dtype == np.uint8 and np.shares_memory(batch, frame)
    assert letterboxes == [Letterbox(1.0, (48, 64), (48, 64), (48, 64))]
    batch, _ = stack_frames([frame, frame + 1])
    assert batch.shape == (2, 48, 64, 3) and batch[1].max() == 1


def test_stack_frames_refuses_frames_of_several_sizes_in_one_batch():
    with pytest.raises(LSNetError, match=r"frames of one size, got 64×48, 80×48"):
        stack_frames([np.zeros((48, 64, 3), np.uint8), np.zeros((48, 80, 3), np.uint8)])


def test_identity_letterbox_only_clamps_to_the_frame():
    letterbox = Letterbox.identity((48, 64))
    np.testing.assert_array_equal(letterbox.to_original(np.array([[-3.0, 10.0], [70.0, 50.0]])),
                                  [[0, 10], [64, 48]])
