"""The precision–recall picture of `lsnet eval`: pycocotools' curves per class at IoU 0.5."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from lsnet.errors import LSNetError
from lsnet.evaluation.coco_eval import CocoEvaluation
from lsnet.files import atomic_write


def plot_precision_recall(evaluations: dict[str, CocoEvaluation], path: str | Path) -> Path:
    """One panel per iou type: each class's interpolated precision over recall at IoU 0.5 (COCO's
    101 recall points), and their mean over the classes that have ground truth — the AP50."""
    try:
        import matplotlib
    except ImportError:
        raise LSNetError("the precision–recall plot needs matplotlib: pip install 'lsnet-trt[train]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise LSNetError(f"the precision–recall plot {path} must be a .png file")
    fig, axes = plt.subplots(1, len(evaluations), figsize=(5.5 * len(evaluations), 5), squeeze=False)
    for ax, (iou_type, e) in zip(axes[0], evaluations.items()):
        t50 = int(np.argmin(np.abs(e.iou_thresholds - 0.5)))
        curves = []
        for k, name in enumerate(e.class_names):
            precision = e.precision[t50, :, k]
            if (precision < 0).all():  # no ground truth of this class
                continue
            precision = np.clip(precision, 0, None)
            curves.append(precision)
            ax.plot(e.recall_thresholds, precision, linewidth=1,
                    label=f"{name} {precision.mean():.3f} ({e.instances[k]})")
        if curves:
            mean = np.mean(curves, axis=0)
            ax.plot(e.recall_thresholds, mean, color="black", linewidth=2.5, label=f"all classes {mean.mean():.3f}")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="recall", ylabel="precision",
               title=f"{iou_type}: precision–recall at IoU 0.5")
        ax.grid(alpha=0.3)
        ax.legend(title="class AP50 (objects)", fontsize=8, title_fontsize=8, loc="lower left")
    fig.tight_layout()
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=100)
    plt.close(fig)
    return atomic_write(path, png.getvalue())
