"""The optimisation profile of an engine: min / opt / max input shapes (`lsnet export engine`).

A TensorRT engine accepts input shapes inside its profile only, and is tuned for the `opt`
shape. The profile follows from the ONNX input (its fixed dimensions are fixed in the engine
too) and the user's options:

- static (default): batch N, canvas `--imgsz` (default: the description's input size);
- `--dynamic`: batch 1 … N (opt N); canvas from `--min-imgsz` (default: two pad divisors, the
  smallest canvas the dynamic ONNX export accepts) over `--imgsz` (opt) to `--max-imgsz`
  (default: `--imgsz`, the largest canvas the runtime makes for images resized into it).

Every canvas side must be a multiple of the pad divisor (the FPN's strides need it, docs/lsnet-official.md §1),
and min ≤ opt ≤ max in every dimension.

A frames model (`lsnet export onnx --frames`: `frames` uint8 [B, H, W, 3]) letterboxes any frame
onto its fixed canvas, so its profile is over frame sizes, any H×W: static at `--imgsz` (default
1080×1920), or with `--dynamic` from `--min-imgsz` (default 32×32) over `--imgsz` to
`--max-imgsz` (default 2160×3840, 4K); the network behind the letterbox stays static. Batch as
for images. Pure functions: tested without TensorRT.
"""
from __future__ import annotations

from dataclasses import dataclass

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError

Shape = tuple[int, int, int, int]  # (batch, 3, H, W); a frames model's (batch, H, W, 3)
FRAME_OPT = (1080, 1920)  # frames: default --imgsz (1080p)
FRAME_MIN = (32, 32)  # frames --dynamic: default --min-imgsz
FRAME_MAX = (2160, 3840)  # frames --dynamic: default --max-imgsz (4K)


@dataclass(frozen=True)
class ShapeProfile:
    input_name: str
    min: Shape
    opt: Shape
    max: Shape
    frames: bool = False  # (batch, H, W, 3) frames instead of (batch, 3, H, W) canvases

    @property
    def hw_axes(self) -> tuple[int, int]:
        return (1, 2) if self.frames else (2, 3)

    def hw(self, which: str) -> tuple[int, int]:
        """(H, W) of the "min", "opt" or "max" shape."""
        shape = getattr(self, which)
        return shape[self.hw_axes[0]], shape[self.hw_axes[1]]

    @property
    def fixed(self) -> bool:
        """One input shape only: execution contexts can share the profile (TensorRT's rule)."""
        return self.min == self.max

    def to_dict(self) -> dict:
        return {"input": self.input_name, "min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    def describe(self) -> str:
        def shape(s: Shape) -> str:
            return "×".join(map(str, s))
        if self.fixed:
            return f"{self.input_name} {shape(self.opt)} (static)"
        return f"{self.input_name} min {shape(self.min)}, opt {shape(self.opt)}, max {shape(self.max)}"


def _hw(value, what: str) -> tuple[int, int]:
    h, w = (int(v) for v in value)
    if h <= 0 or w <= 0:
        raise LSNetError(f"{what} must be positive, got {h}×{w}")
    return h, w


def validate_profile(profile: ShapeProfile, pad_divisor: int) -> ShapeProfile:
    """LSNetError unless min ≤ opt ≤ max everywhere and, for canvases, the sizes are multiples of `pad_divisor`."""
    names = ("batch", "height", "width", "channels") if profile.frames else ("batch", "channels", "height", "width")
    channel_axis = 3 if profile.frames else 1
    for label, shape in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
        if shape[0] < 1:
            raise LSNetError(f"profile {label} batch must be ≥ 1, got {shape[0]}")
        if shape[channel_axis] != 3:
            raise LSNetError(f"the input must have 3 channels, got {shape[channel_axis]}")
        for axis in profile.hw_axes:
            if shape[axis] < 1:
                raise LSNetError(f"profile {label} {names[axis]} must be ≥ 1, got {shape[axis]}")
            if shape[axis] % pad_divisor and not profile.frames:
                raise LSNetError(f"profile {label} {names[axis]} {shape[axis]} is not a multiple of the pad divisor "
                                 f"{pad_divisor}")
    for axis, name in enumerate(names):
        low, mid, high = profile.min[axis], profile.opt[axis], profile.max[axis]
        if not low <= mid <= high:
            raise LSNetError(f"profile {name} must satisfy min ≤ opt ≤ max, got {low}, {mid}, {high}")
    return profile


def engine_profile(input_shape: list, description: ModelDescription, *, batch: int | None = None,
                   imgsz: tuple[int, int] | None = None, dynamic: bool = False,
                   min_imgsz: tuple[int, int] | None = None, max_imgsz: tuple[int, int] | None = None,
                   input_name: str = "images") -> ShapeProfile:
    """The profile for an ONNX input of `input_shape` ([B, 3, H, W], or [B, H, W, 3] for a frames
    model; ints fixed, anything else free)."""
    if description.takes_frames:
        return frames_profile(input_shape, description, batch=batch, imgsz=imgsz, dynamic=dynamic, min_imgsz=min_imgsz,
                              max_imgsz=max_imgsz, input_name=input_name)
    if len(input_shape) != 4:
        raise LSNetError(f"the ONNX input {input_name} must be [batch, 3, height, width], got {input_shape}")
    fixed = [v if isinstance(v, int) and v > 0 else None for v in input_shape]
    if not dynamic and (min_imgsz or max_imgsz):
        raise LSNetError("--min-imgsz and --max-imgsz shape a dynamic engine: add --dynamic")
    if dynamic and fixed[2] is not None and fixed[3] is not None and fixed[0] is not None:
        raise LSNetError(f"the ONNX input is static ({'×'.join(map(str, input_shape))}); a dynamic engine needs a "
                         "dynamic export: `lsnet export onnx CKPT --dynamic` (or pass the .pt)")
    batch = _batch(batch, fixed[0])
    if imgsz is not None:
        imgsz = _hw(imgsz, "--imgsz")
    elif fixed[2] is not None and fixed[3] is not None:
        imgsz = (fixed[2], fixed[3])
    else:
        imgsz = tuple(description.input_size)
    for axis, side in ((2, "height"), (3, "width")):
        if fixed[axis] is not None and imgsz[axis - 2] != fixed[axis]:
            raise LSNetError(f"the ONNX input has a fixed {side} of {fixed[axis]}, not {imgsz[axis - 2]}; re-export "
                             "with `lsnet export onnx … --imgsz H W` or `--dynamic`")
    opt = (batch, 3, *imgsz)
    if not dynamic:
        return validate_profile(ShapeProfile(input_name, opt, opt, opt), description.pad_divisor)
    d = description.pad_divisor
    low = _hw(min_imgsz, "--min-imgsz") if min_imgsz else (2 * d, 2 * d)
    high = _hw(max_imgsz, "--max-imgsz") if max_imgsz else imgsz
    # A fixed ONNX dimension stays fixed whatever the options say about the others.
    low = tuple(fixed[axis] or low[axis - 2] for axis in (2, 3))
    high = tuple(fixed[axis] or high[axis - 2] for axis in (2, 3))
    min_batch = fixed[0] or 1
    return validate_profile(ShapeProfile(input_name, (min_batch, 3, *low), opt, (batch, 3, *high)), d)


def _batch(batch: int | None, fixed: int | None) -> int:
    """The profile's largest batch: --batch, else the ONNX input's fixed batch, else 1."""
    if batch is not None and batch < 1:
        raise LSNetError(f"--batch must be ≥ 1, got {batch}")
    batch = batch or fixed or 1
    if fixed is not None and batch != fixed:
        raise LSNetError(f"the ONNX input has a fixed batch of {fixed}, not {batch}; re-export with "
                         f"`lsnet export onnx … --batch {batch}` or `--dynamic`")
    return batch


def frames_profile(input_shape: list, description: ModelDescription, *, batch: int | None = None,
                   imgsz: tuple[int, int] | None = None, dynamic: bool = False,
                   min_imgsz: tuple[int, int] | None = None, max_imgsz: tuple[int, int] | None = None,
                   input_name: str = "frames") -> ShapeProfile:
    """A frames model's profile over frame sizes (module docstring) for its input [B, H, W, 3]."""
    if len(input_shape) != 4 or input_shape[3] != 3:
        raise LSNetError(f"the ONNX input {input_name} of a frames model must be [batch, height, width, 3], got "
                         f"{input_shape}")
    if not dynamic and (min_imgsz or max_imgsz):
        raise LSNetError("--min-imgsz and --max-imgsz shape a dynamic engine: add --dynamic")
    fixed_batch = input_shape[0] if isinstance(input_shape[0], int) and input_shape[0] > 0 else None
    batch = _batch(batch, fixed_batch)
    opt_hw = _hw(imgsz, "--imgsz") if imgsz else FRAME_OPT
    opt = (batch, *opt_hw, 3)
    if not dynamic:
        return validate_profile(ShapeProfile(input_name, opt, opt, opt, frames=True), description.pad_divisor)
    low = _hw(min_imgsz, "--min-imgsz") if min_imgsz else tuple(min(a, b) for a, b in zip(FRAME_MIN, opt_hw))
    high = _hw(max_imgsz, "--max-imgsz") if max_imgsz else tuple(max(a, b) for a, b in zip(FRAME_MAX, opt_hw))
    profile = ShapeProfile(input_name, (fixed_batch or 1, *low, 3), opt, (batch, *high, 3), frames=True)
    return validate_profile(profile, description.pad_divisor)
