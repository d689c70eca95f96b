"""The training-curve picture: losses per iteration and validation AP per epoch."""
from __future__ import annotations

import io
from pathlib import Path

from lsnet.files import atomic_write


def plot_curves(history: list[dict], evals: list[dict], path: str | Path, metric_name: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_loss, ax_ap) = plt.subplots(1, 2, figsize=(11, 4))
    if history:
        its = [h["iter"] for h in history]
        for key in sorted(k for k in history[0] if k.startswith("loss")):
            ax_loss.plot(its, [h[key] for h in history], label=key, linewidth=1)
        ax_loss.set_yscale("log")
        ax_loss.set_xlabel("iteration")
        ax_loss.legend(fontsize=8)
        ax_loss.set_title("training losses")
    if evals:
        epochs = [e["epoch"] for e in evals]
        ax_ap.plot(epochs, [e["AP"] for e in evals], marker="o")
        for epoch, e in zip(epochs, evals):
            ax_ap.annotate(f"{e['AP']:.3f}", (epoch, e["AP"]), textcoords="offset points", xytext=(0, 6),
                           ha="center", fontsize=8)
        ax_ap.set_xlim(0, max(epochs) + 0.5)
        ax_ap.set_xlabel("epoch")
        ax_ap.set_ylim(0, 1)
        ax_ap.grid(alpha=0.3)
    ax_ap.set_title(f"val {metric_name} AP")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    atomic_write(path, png.getvalue())
