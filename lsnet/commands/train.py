"""`lsnet train CONFIG [key=value …] [--resume]`."""
from __future__ import annotations

import argparse

from lsnet.text import plural


def add_parser(sub) -> None:
    p = sub.add_parser(
        "train", help="train an LSNet on a COCO-format dataset",
        description="Train LSNet. CONFIG is a YAML file overriding keys of the default config "
                    "(lsnet/default.yaml); key=value arguments override both; relative paths in CONFIG are relative "
                    "to CONFIG. Writes last.pt (weights and training state), best.pt (the best weights), "
                    "config.yaml, metrics.jsonl and curves.png to the run folder (`out`). Ctrl-C stops after the "
                    "current step and saves last.pt; --resume continues exactly. "
                    "Several processes: torchrun --nproc_per_node N -m lsnet train CONFIG.")
    p.add_argument("config", nargs="?", help="YAML file of overrides (optional)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, e.g. epochs=24 batch=8")
    p.add_argument("--resume", action="store_true", help="continue the run in `out` from its last.pt, exactly")
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.set_defaults(run=run)


def run(args) -> int:
    from lsnet.training import config as config_io

    config_file, overrides = args.config, list(args.overrides)
    if config_file and "=" in config_file:  # no file, only overrides
        config_file, overrides = None, [config_file] + overrides
    parsed = config_io.parse_overrides(overrides)
    if args.print_config:
        import yaml

        print(yaml.safe_dump(config_io.resolve(config_file, parsed), sort_keys=False), end="")
        return 0
    from lsnet.training.trainer import run as train

    summary = train(config_file, parsed, args.resume)
    out = summary["out"]
    if "last.pt" not in summary["written"]:
        print(f"the run in {out} is already complete ({plural(summary['iterations'], 'iteration')}): nothing to "
              "train; raise epochs= or max_iters= with --resume to train on")
        return 0
    print(f"trained {plural(summary['iterations'], 'iteration')} in {summary['seconds']:.0f} s; "
          f"best val AP {summary['best_AP']:.4f}")
    print("wrote " + ", ".join(f"{out}/{name}" for name in summary["written"]))
    print(f"next: lsnet eval {out}/best.pt --data DIR   |   lsnet export onnx {out}/best.pt --out model.onnx")
    return 0
