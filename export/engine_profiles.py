"""The optimisation profile of an engine: min / opt / max input shapes (`lsnet export engine`).

A TensorRT engine accepts input shapes inside its profile only, and is tuned for the `opt`
shape. The profile follows from the ONNX input (its fixed dimensions are fixed in the engine
too) and the user's options:

- static (default): batch N, canvas `--imgsz` (default: the description's input size);
- `--dynamic`: batch 1 … N (opt N); canvas from `--min-imgsz` (default: two pad divisors, the
  smallest canvas the dynamic ONNX export accepts) over `--imgsz` (opt) to `--max-imgsz`
  (default: `--imgsz`, the largest canvas the runtime makes for images resized into it).

Every canvas side must be a multiple of the pad divisor (the FPN's strides need it, docs/lsnet-official.md §1),
and min ≤ opt ≤ max in every dimension. Pure functions: tested without TensorRT.
"""
from __future__ import annotations

from dataclasses import dataclass

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError

Shape = tuple[int, int, int, int]  # (batch, 3, H, W)


@dataclass(frozen=True)
class ShapeProfile:
    input_name: str
    min: Shape
    opt: Shape
    max: Shape

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
    """LSNetError unless the sizes are multiples of `pad_divisor` and min ≤ opt ≤ max everywhere."""
    names = ("batch", "channels", "height", "width")
    for label, shape in (("min", profile.min), ("opt", profile.opt), ("max", profile.max)):
        if shape[0] < 1:
            raise LSNetError(f"profile {label} batch must be ≥ 1, got {shape[0]}")
        if shape[1] != 3:
            raise LSNetError(f"the input must have 3 channels, got {shape[1]}")
        for side, value in zip(names[2:], shape[2:]):
            if value % pad_divisor:
                raise LSNetError(f"profile {label} {side} {value} is not a multiple of the pad divisor {pad_divisor}")
    for axis, name in enumerate(names):
        low, mid, high = profile.min[axis], profile.opt[axis], profile.max[axis]
        if not low <= mid <= high:
            raise LSNetError(f"profile {name} must satisfy min ≤ opt ≤ max, got {low}, {mid}, {high}")
    return profile


def engine_profile(input_shape: list, description: ModelDescription, *, batch: int | None = None,
                   imgsz: tuple[int, int] | None = None, dynamic: bool = False,
                   min_imgsz: tuple[int, int] | None = None, max_imgsz: tuple[int, int] | None = None,
                   input_name: str = "images") -> ShapeProfile:
    """The profile for an ONNX input of `input_shape` ([B, 3, H, W], ints fixed, anything else free)."""
    if len(input_shape) != 4:
        raise LSNetError(f"the ONNX input {input_name} must be [batch, 3, height, width], got {input_shape}")
    fixed = [v if isinstance(v, int) and v > 0 else None for v in input_shape]
    if not dynamic and (min_imgsz or max_imgsz):
        raise LSNetError("--min-imgsz and --max-imgsz shape a dynamic engine: add --dynamic")
    if dynamic and fixed[2] is not None and fixed[3] is not None and fixed[0] is not None:
        raise LSNetError(f"the ONNX input is static ({'×'.join(map(str, input_shape))}); a dynamic engine needs a "
                         "dynamic export: `lsnet export onnx CKPT --dynamic` (or pass the .pt)")
    if batch is not None and batch < 1:
        raise LSNetError(f"--batch must be ≥ 1, got {batch}")
    batch = batch or fixed[0] or 1
    if fixed[0] is not None and batch != fixed[0]:
        raise LSNetError(f"the ONNX input has a fixed batch of {fixed[0]}, not {batch}; re-export with "
                         f"`lsnet export onnx … --batch {batch}` or `--dynamic`")
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
