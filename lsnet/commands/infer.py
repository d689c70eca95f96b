"""`lsnet infer MODEL SOURCE`: detections drawn on an image, a folder, a video, a camera or a stream."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lsnet.commands.arg_types import positive_int, probability
from lsnet.commands.runtime_options import add_backend_choice, add_backend_options, backend_options
from lsnet.text import plural


def add_parser(sub) -> None:
    p = sub.add_parser(
        "infer", help="draw a model's detections on images, videos, cameras or streams",
        description="Run MODEL (.pt, .onnx or .engine) on SOURCE and write the drawn detections: "
                    "SOURCE is an image, a folder of images, a video file, a camera index (0) or a stream "
                    "URL (rtsp://, http://). Ctrl-C stops a long run cleanly: the frames read so far are "
                    "finished and the output is kept under its .partial name. Unreadable files in a folder are "
                    "skipped with a warning.")
    p.add_argument("model", help="model file: .pt (PyTorch), .onnx (ONNX Runtime), .trt.onnx (plugin CPU twins) "
                                 "or .engine (TensorRT)")
    p.add_argument("source", help="image, folder, video file, camera index or stream URL")
    p.add_argument("--out", metavar="PATH",
                   help="output: .mp4/.avi video, an image file (one-image source) or a folder "
                        "(default runs/infer/NAME.mp4, NAME.jpg or NAME/; NAME2, NAME3 … when taken)")
    add_backend_choice(p)
    add_backend_options(p)
    p.add_argument("--score", type=probability, default=0.3,
                   help="draw detections with at least this score, 0 … 1 (default 0.3)")
    p.add_argument("--show-duplicates", action="store_true",
                   help="also draw an object's lower-scored duplicates under other classes (by default a detection "
                        "whose box overlaps a better one of another class at IoU ≥ 0.7 is not drawn)")
    p.add_argument("--batch", type=positive_int, default=1, metavar="N", help="frames per model call (default 1)")
    p.add_argument("--show-fps", action="store_true", help="draw the live FPS on every frame")
    p.add_argument("--sheet", metavar="PNG", help="also write a contact sheet: a grid of frames sampled over the run")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def detections_summary(label_counts, frames: int, score: float, duplicates: bool) -> str:
    found = ", ".join(f"{n} {name}" for name, n in label_counts.most_common()) or "none"
    what = "" if duplicates else ", other classes' duplicates left out"
    return f"detections drawn (score ≥ {score:g}{what}) in {plural(frames, 'frame')}: {found}"


def run(args: argparse.Namespace) -> int:
    from lsnet.errors import LSNetError, warn
    from lsnet.files import claim_outputs, numbered
    from lsnet.runtime import load
    from lsnet.runtime.draw import DUPLICATE_IOU
    from lsnet.runtime.pipeline import run_pipeline
    from lsnet.runtime.sinks import ContactSheetSink, VideoSink, codec_note, default_output, open_sink
    from lsnet.runtime.sources import open_source

    detector = load(args.model, args.backend, **backend_options(args))
    source = open_source(args.source)
    info = source.info
    out = Path(args.out) if args.out else numbered(default_output(info))
    source_file = args.source if Path(args.source).exists() else None  # not a camera or a stream
    with claim_outputs([out, args.sheet], inputs=[args.model, source_file]):
        sinks = [open_sink(out, info)]
        if args.sheet:
            sinks.append(ContactSheetSink(args.sheet, info.frame_count))
        log = None if args.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
        if log:
            log(f"{detector.backend}: {args.model} on {info.kind} {args.source}"
                + (f" ({plural(info.frame_count, 'frame')})" if info.frame_count else ""))
        result = run_pipeline(detector, source, sinks, batch=args.batch, score=args.score,
                              duplicate_iou=None if args.show_duplicates else DUPLICATE_IOU, show_fps=args.show_fps,
                              log=log)
    if source.skipped:
        warn(f"skipped {plural(len(source.skipped), 'unreadable file')} of {info.frame_count} in {args.source}")
    if result.frames == 0:
        raise LSNetError(f"no frame of {args.source} could be read: nothing written")
    if source.missing_frames:
        warn(f"{args.source} declares {plural(info.frame_count, 'frame')} but only {result.frames} could be "
             f"decoded: {source.missing_frames} missing (a damaged or truncated file?)")
    outputs = ", ".join(map(str, result.outputs)) or "nothing"
    if not result.complete:
        print(f"interrupted after {plural(result.frames, 'frame')}: kept the partial output {outputs} "
              "(valid, but not the whole source)", file=sys.stderr)
        return 130
    model_ms = result.stage_ms.get("model", 0.0)
    print(f"wrote {outputs} ({plural(result.frames, 'frame')} in {result.seconds:.1f} s, {result.fps:.1f} FPS; "
          f"model {model_ms:.1f} ms per batch of {args.batch}, {detector.backend})")
    print(detections_summary(result.label_counts, result.frames, args.score, args.show_duplicates))
    if isinstance(sinks[0], VideoSink):
        print(f"video {codec_note(sinks[0].path)}")
    print(f"next: lsnet bench {args.model}" + (f" --video {args.source}" if info.kind == "video" else "")
          + f"   |   lsnet eval {args.model} --data DIR")
    return 0
