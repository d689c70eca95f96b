"""`lsnet data synth|video`: synthetic datasets (COCO layout) and videos for demos and tests."""
from __future__ import annotations

import argparse

from lsnet.commands.arg_types import non_negative_int, positive_float, positive_int
from lsnet.errors import LSNetError
from lsnet.landmarks import TASKS
from lsnet.text import plural


def _task(value: str) -> str:
    # Checked here rather than with argparse `choices`, so a bad task is a one-line `error:`.
    if value not in TASKS:
        raise LSNetError(f"unknown task {value!r} (expected one of {', '.join(TASKS)})")
    return value


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("data", help="write synthetic datasets and videos",
                                   description="Synthetic data for demos, tests and quick training runs.")
    sub = parser.add_subparsers(dest="data_command", metavar="COMMAND", required=True)

    synth = sub.add_parser(
        "synth", help="write a deterministic synthetic COCO-format dataset",
        description="Write DIR/annotations/{train,val}.json and JPEG images in DIR/{train,val}/. "
                    "bbox and segm: shapes of 5 classes with occlusion; pose: stick figures with "
                    "the 17 COCO keypoints. The same seed gives the same dataset on every machine.")
    synth.add_argument("--task", required=True, help=f"one of {', '.join(TASKS)}")
    synth.add_argument("--out", required=True, metavar="DIR", help="dataset folder to write")
    synth.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    synth.add_argument("--train", type=non_negative_int, default=1500, metavar="N", help="training images (default 1500)")
    synth.add_argument("--val", type=non_negative_int, default=200, metavar="N", help="validation images (default 200)")
    synth.add_argument("--min-size", type=positive_int, default=160, metavar="PX",
                       help="smallest image side (default 160); each side is uniform in [min, max]")
    synth.add_argument("--max-size", type=positive_int, default=224, metavar="PX", help="largest image side (default 224)")
    synth.add_argument("--max-objects", type=positive_int, default=None, metavar="N",
                       help="most objects per image (default 6; pose 4 persons)")
    synth.set_defaults(run=run_synth)

    video = sub.add_parser("video", help="write a synthetic video with moving objects",
                           description="Write a video of the synthetic renderer with objects moving "
                                       "smoothly (.mp4: H.264 where imageio-ffmpeg is installed, else mp4v; "
                                       ".avi: MJPG).")
    video.add_argument("--task", required=True, help=f"one of {', '.join(TASKS)} (pose: walking figures)")
    video.add_argument("--out", required=True, metavar="FILE", help="video file, .mp4 or .avi")
    video.add_argument("--frames", type=positive_int, default=250, metavar="N", help="number of frames (default 250)")
    video.add_argument("--fps", type=positive_float, default=25.0, help="frames per second (default 25)")
    video.add_argument("--size", type=positive_int, nargs=2, default=(640, 480), metavar=("W", "H"),
                       help="frame size (default 640 480)")
    video.add_argument("--seed", type=non_negative_int, default=0, help="random seed (default 0)")
    video.add_argument("--annotations", metavar="JSON",
                       help="also write the frames' ground truth here: COCO format, one image per frame "
                            "(frame_000000.jpg, …), for `lsnet eval MODEL --ann JSON --images VIDEO`")
    video.set_defaults(run=run_video)


def train_suggestion(task: str, data: str) -> str:
    """What to train on the new dataset: the default config where a GPU can take it, else a model
    that trains on this machine's CPU."""
    import torch

    from lsnet.training.config import train_command_for_cpu

    if torch.cuda.is_available():
        return f"lsnet train [CONFIG] data={data} task={task}"
    return f"{train_command_for_cpu(task, data)} (no GPU here: a small model that trains on the CPU)"


def run_synth(args: argparse.Namespace) -> int:
    from lsnet.data.synth import write_dataset
    from lsnet.files import claim_outputs

    task = _task(args.task)
    with claim_outputs([args.out]):
        written = write_dataset(args.out, task, seed=args.seed, counts={"train": args.train, "val": args.val},
                                size_range=(args.min_size, args.max_size), max_objects=args.max_objects,
                                progress=True)
    for split, (images, annotations) in written.items():
        print(f"wrote {plural(images, split + ' image')}, {plural(annotations, 'annotation')}: {args.out}/{split}/, "
              f"{args.out}/annotations/{split}.json")
    print(f"next: {train_suggestion(task, args.out)}   |   lsnet eval MODEL --data {args.out}")
    return 0


def run_video(args: argparse.Namespace) -> int:
    from lsnet.data.video import write_video
    from lsnet.files import claim_outputs
    from lsnet.runtime.sinks import codec_note

    task = _task(args.task)
    with claim_outputs([args.out, args.annotations]):
        out = write_video(args.out, task, args.frames, fps=args.fps, size=tuple(args.size), seed=args.seed,
                          annotations=args.annotations)
    also = f" and its ground truth {args.annotations}" if args.annotations else ""
    print(f"wrote {out} ({plural(args.frames, 'frame')}, {args.size[0]}×{args.size[1]}, {args.fps:g} fps){also}")
    print(f"video {codec_note(out)}")
    print(f"next: `lsnet infer MODEL {out}` draws a model's detections on it"
          + (f"   |   lsnet eval MODEL --ann {args.annotations} --images {out}" if args.annotations else ""))
    return 0
