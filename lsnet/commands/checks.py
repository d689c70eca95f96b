"""`lsnet checks [--backend NAME] [--json [F]]`: what this machine can run, and how to fix what it cannot."""
from __future__ import annotations

import json
import sys

from lsnet.errors import LSNetError


def add_parser(sub) -> None:
    from lsnet.runtime.backends import BACKENDS

    p = sub.add_parser(
        "checks", help="what this machine can run: packages, GPU, CUDA, TensorRT, plugins, compilers",
        description="Reports Python and its packages, the GPU and driver, the CUDA runtime, TensorRT, pycuda, "
                    "cuda-python, the compiled plugin code, nvcc and CMake: for each what works, what does not and "
                    "the command that fixes it; then which backends can run here.")
    p.add_argument("--backend", choices=sorted(BACKENDS),
                   help="exit non-zero with the reason when this backend cannot run here")
    p.add_argument("--json", nargs="?", const="-", metavar="F", help="write the report as JSON to F (- or no F: stdout)")
    p.set_defaults(run=run)


def format_report(report) -> str:
    width = max(len(c.name) for c in report.checks)
    lines = [f"lsnet-trt {report.lsnet}: what this machine can run", ""]
    for check in report.checks:
        mark = "ok" if check.ok else ("--" if check.optional else "NO")
        version = f" {check.version}" if check.version else ""
        lines.append(f"  {mark:2}  {check.name:{width}}  {version.strip() + ': ' if version else ''}{check.detail}")
        if check.fix:
            lines.append(f"      {'':{width}}  fix: {check.fix}")
    lines += ["", "backends:"]
    for name, status in report.backends.items():
        lines.append(f"  {'ok' if status.runs else '--':2}  {name:20}  "
                     f"{'runs on the ' + status.reason if status.runs else 'cannot run: ' + status.reason}")
    return "\n".join(lines)


def run(args) -> int:
    from lsnet.environment import run_checks

    report = run_checks(import_torch=args.backend == "pytorch")
    if args.json == "-":
        print(json.dumps(report.to_dict(), indent=2))
    elif args.json:
        from lsnet.files import claim_outputs, write_json

        with claim_outputs([args.json]):
            write_json(args.json, report.to_dict())
        print(format_report(report))
        print(f"\nwrote {args.json}")
    else:
        print(format_report(report))
    if args.backend and not report.backends[args.backend].runs:
        sys.stdout.flush()
        raise LSNetError(f"the {args.backend} backend cannot run here: {report.backends[args.backend].reason}")
    return 0
