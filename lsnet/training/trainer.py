"""`lsnet train`: SGD with warmup and step decay, gradient clipping, optional AMP, DDP under
torchrun, atomic checkpoints, exact resume, periodic COCO evaluation (docs/lsnet-official.md §7).

What a run guarantees (README "Guarantees"): both splits are checked before the first step (the
val split as `lsnet eval` checks it), so a broken dataset fails in seconds, not after training;
`last.pt` is saved before every evaluation; Ctrl-C stops after the current step and saves a
`last.pt` from which `--resume` continues exactly as if never stopped — weights, buffers
(BatchNorm statistics and counters), optimizer, RNG, and `metrics.jsonl`, which a resume trims to
the checkpoint's iteration (a killed run may have logged steps its last checkpoint does not hold).
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader
from tqdm import tqdm

from lsnet.description import ModelDescription
from lsnet.errors import LSNetError, first_line, warn
from lsnet.evaluation.predict import PRIMARY_IOU_TYPE, check_evaluation_set, evaluate_detector, primary_metric
from lsnet.files import append_line, atomic_write, claim_outputs, make_folder
from lsnet.interrupt import ignore_sigint, stop_on_first_sigint
from lsnet.model.checkpoint import load_matching_weights, read_checkpoint, save_checkpoint
from lsnet.model.config import ModelConfig
from lsnet.model.criterion import LossConfig
from lsnet.model.lsnet import LSNet
from lsnet.progress import progress
from lsnet.text import plural
from lsnet.runtime.backends.torch_backend import torch_device
from lsnet.training import config as config_io
from lsnet.training.curves import plot_curves
from lsnet.training.distributed import Dist, setup, teardown
from lsnet.training.sampler import GlobalBatchSampler
from lsnet.training.schedule import lr_at


def make_optimizer(cfg: dict, params: list, lr: float) -> torch.optim.Optimizer:
    """SGD with momentum (the official recipe), or AdamW, which trains small models from
    scratch in far fewer iterations (`optimizer: adamw`, used by configs/synth_*.yaml)."""
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=cfg["momentum"], weight_decay=cfg["weight_decay"],
                               foreach=True)
    if cfg["optimizer"] == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=cfg["weight_decay"], foreach=True)
    raise LSNetError(f"config: optimizer must be sgd or adamw, got {cfg['optimizer']!r}")


def model_config(cfg: dict, num_classes: int) -> ModelConfig:
    return ModelConfig(num_classes=num_classes, **{k: cfg[k] for k in config_io.MODEL_KEYS})


def describe(cfg: dict, class_names: list[str], model_cfg: ModelConfig) -> ModelDescription:
    box_source = "side_midpoints" if cfg["task"] == "pose" and cfg["pose_box"] == "obj" else ""
    return ModelDescription(task=cfg["task"], class_names=class_names, input_size=tuple(cfg["imgsz"]),
                            box_source=box_source, strides=model_cfg.strides,
                            pre_nms_top_k=cfg["pre_nms_top_k"], score_threshold=cfg["score_threshold"],
                            nms_iou_threshold=cfg["nms_iou_threshold"], max_detections=cfg["max_detections"])


class Trainer:
    def __init__(self, cfg: dict, resume_state: dict | None = None):
        from lsnet.data.coco import dataset_from_dir

        self.cfg = cfg
        self.out = Path(cfg["out"])
        self.device = torch_device(cfg["device"])
        self.dist: Dist = setup(self.device)
        torch.manual_seed(cfg["seed"])
        # Tiny initial weights and gradients produce denormal floats, which are many times
        # slower on x86 CPUs; flushing them to zero changes nothing measurable in training.
        torch.set_flush_denormal(True)
        data = cfg["data"]
        if not data:
            raise LSNetError("no dataset: set `data=DIR` (a COCO-layout folder, e.g. from `lsnet data synth`)")
        size = tuple(cfg["imgsz"])
        self.train_set = dataset_from_dir(data, "train", cfg["task"], size, train=True, flip_prob=cfg["flip"],
                                          seed=cfg["seed"], scale_range=tuple(cfg["scale_range"]))
        if cfg["batch"] > len(self.train_set):
            raise LSNetError(f"batch {cfg['batch']} is larger than the training set "
                             f"({plural(len(self.train_set), 'image')})")
        if cfg["batch"] % self.dist.world:
            raise LSNetError(f"batch {cfg['batch']} is not divisible by the {self.dist.world} processes")
        if self.device.type == "cpu" and self.dist.main and config_io.slow_on_cpu(cfg):
            h, w = cfg["imgsz"]
            warn(f"training a ResNet-{cfg['depth']} at {h}×{w} on the CPU (no GPU here): the default "
                 "config is made for GPUs, and an iteration may take minutes. A model that trains on a CPU: "
                 f"{config_io.train_command_for_cpu(cfg['task'], data)}")
        self.model_cfg = model_config(cfg, len(self.train_set.class_names))
        self.description = describe(cfg, self.train_set.class_names, self.model_cfg)
        self.val_ann, self.val_images = self._check_val_split(Path(data))
        self.model = LSNet(self.model_cfg)
        if cfg["load_from"] and not resume_state:
            copied, kept = load_matching_weights(self.model, cfg["load_from"], cfg["allow_unofficial_options"])
            if self.dist.main:
                tqdm.write(f"load_from {cfg['load_from']}: {plural(copied, 'weight')} copied, "
                           f"{len(kept)} left at their init")
        self.model.to(self.device)
        self.criterion = self.model.criterion(
            LossConfig(focal_alpha=cfg["focal_alpha"], focal_gamma=cfg["focal_gamma"],
                       init_weight=cfg["init_weight"], refine_weight=cfg["refine_weight"],
                       cross_iou_alpha=cfg["cross_iou_alpha"]),
            reduce_mean=self.dist.reduce_mean)
        self.base_lr = cfg["lr"] * cfg["batch"] / 16  # 0.01 per 16 images, scaled linearly (docs/lsnet-official.md §7)
        self.optimizer = make_optimizer(cfg, [p for p in self.model.parameters() if p.requires_grad], self.base_lr)
        self.sampler = GlobalBatchSampler(len(self.train_set), cfg["batch"], self.dist.rank, self.dist.world,
                                          cfg["seed"])
        self.iters_per_epoch = self.sampler.batches_per_epoch()
        self.total_iters = cfg["epochs"] * self.iters_per_epoch
        if cfg["max_iters"]:
            self.total_iters = min(self.total_iters, cfg["max_iters"])
        self.iteration, self.history, self.evals, self.best = 0, [], [], -1.0
        if resume_state:
            self._restore(resume_state)
        self.ddp = (DistributedDataParallel(self.model, find_unused_parameters=False)
                    if self.dist.world > 1 else self.model)

    # ---- checkpoints ------------------------------------------------------------------------
    def _check_val_split(self, data: Path) -> tuple[Path, Path]:
        """The val split, checked now as `lsnet eval` checks it (annotations, image files, its
        categories against the training classes): the last evaluation must not fail."""
        ann, images = data / "annotations" / "val.json", data / "val"
        if not ann.is_file() or not images.is_dir():
            raise LSNetError(f"dataset folder {data} has no val split (annotations/val.json and val/), which "
                             "training evaluates on")
        note = check_evaluation_set(ann, images, self.description, self.cfg["eval_images"])[2]
        if note and self.dist.main:
            warn(f"val split: {note}")
        return ann, images

    def _train_state(self) -> dict:
        return {"config": config_io.saved_form(self.cfg), "iteration": self.iteration,
                "optimizer": self.optimizer.state_dict(),
                "history": self.history, "evals": self.evals, "best": self.best,
                "torch_rng": torch.get_rng_state()}

    def _restore(self, state: dict) -> None:
        ckpt = state["checkpoint"]
        try:
            self.model.load_state_dict(ckpt["model"])
        except RuntimeError as e:  # a model key overridden on the command line of a resume
            raise LSNetError(f"{self.out / 'last.pt'} does not fit the model this config builds ({first_line(e)}); "
                             "resume without changing model keys") from None
        train = ckpt["train"]
        self.optimizer.load_state_dict(train["optimizer"])
        self.iteration, self.history = train["iteration"], train["history"]
        self.evals, self.best = train["evals"], train["best"]
        torch.set_rng_state(train["torch_rng"])

    def save(self, name: str) -> Path:
        """`last.pt`: weights and the whole training state; `best.pt`: the weights only (a resume
        continues from `last.pt`, so the best model needs no optimizer)."""
        path = self.out / name
        if self.dist.main:
            save_checkpoint(path, self.model, self._describe_with_provenance(),
                            self._train_state() if name == "last.pt" else None)
            self.written.add(name)
        return path

    def _describe_with_provenance(self) -> ModelDescription:
        d = ModelDescription.from_dict(self.description.to_dict())
        d.extra = {"trained_iterations": self.iteration, "val": self.evals[-1] if self.evals else None}
        return d

    # ---- one step -----------------------------------------------------------------------------
    def _step(self, images: torch.Tensor, targets: list[dict]) -> dict[str, float]:
        lr = lr_at(self.iteration, self.base_lr, self.cfg["warmup_iters"], self.cfg["warmup_ratio"],
                   [e * self.iters_per_epoch for e in self.cfg["lr_steps"]])
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        images = images.to(self.device, non_blocking=True)
        targets = [{k: v.to(self.device) if torch.is_tensor(v) else v for k, v in t.items()} for t in targets]
        amp_dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        with torch.autocast(self.device.type, dtype=amp_dtype, enabled=self.cfg["amp"]):
            out = self.ddp(images)
        losses = self.criterion(out, targets)
        loss = sum(losses.values())
        if not torch.isfinite(loss):
            raise LSNetError(f"the loss became {loss.item()} at iteration {self.iteration}; training stopped. "
                             f"The last good checkpoint is {self.out / 'last.pt'} (try a lower lr or amp=false)")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg["grad_clip"])
        self.optimizer.step()
        self.iteration += 1
        return {"iter": self.iteration, "lr": lr, "loss": loss.item(), **{k: v.item() for k, v in losses.items()}}

    # ---- evaluation ---------------------------------------------------------------------------
    def evaluate(self, epoch: int) -> float:
        from lsnet.runtime.backends.torch_backend import TorchDetector

        detector = TorchDetector(self.model, self.description, str(self.device))
        try:
            metrics = evaluate_detector(detector, self.val_ann, self.val_images, self.cfg["eval_images"],
                                        progress=False)
        except LSNetError as e:  # last.pt was saved before: say so
            raise LSNetError(f"{e} (evaluating after iteration {self.iteration}; the trained model is saved in "
                             f"{self.out / 'last.pt'})") from None
        self.model.train()
        ap = primary_metric(self.cfg["task"], metrics)
        self.evals.append({"epoch": epoch, "iter": self.iteration, "AP": ap, "metrics": metrics})
        return ap

    def _report_data(self) -> None:
        """What the dataset left out or fixed, on screen and in the metrics log (docs/lsnet-official.md §5)."""
        ds = self.train_set
        record = {"train_images": len(ds), "skipped": dict(ds.skipped), "adjusted": dict(ds.adjusted)}
        self._log(record)
        for kind in ("skipped", "adjusted"):
            if record[kind]:
                tqdm.write(f"train data {kind}: " + ", ".join(f"{n} × {why}" for why, n in record[kind].items()))

    def _log(self, record: dict) -> None:
        append_line(self.out / "metrics.jsonl", json.dumps(record))

    def _trim_log(self) -> None:
        """On resume: drop the records of iterations after the checkpoint's (a killed run logged
        them, and they will be run again), so the log reads as one uninterrupted run."""
        path = self.out / "metrics.jsonl"
        if not path.is_file():
            return
        kept = [line for line in path.read_text().splitlines()
                if line.strip() and json.loads(line).get("iter", 0) <= self.iteration]
        atomic_write(path, "".join(line + "\n" for line in kept))

    # ---- the loop ------------------------------------------------------------------------------
    def fit(self) -> dict:
        cfg, main = self.cfg, self.dist.main
        self.written: set[str] = set()
        if main:
            make_folder(self.out)
            config_io.dump(cfg, self.out / "config.yaml")
            if self.iteration:
                self._trim_log()
            else:
                self._report_data()
        self.model.train()
        metric = PRIMARY_IOU_TYPE[cfg["task"]]
        bar = progress(total=self.total_iters, initial=self.iteration, desc="train", unit="it", disable=not main,
                   dynamic_ncols=True, mininterval=2.0)
        start, start_iter = time.time(), self.iteration
        stop, saved = threading.Event(), False
        try:
            with stop_on_first_sigint(stop):
                while self.iteration < self.total_iters and not self._stopping(stop):
                    self._epoch(bar, stop, metric)
                if self._stopping(stop):  # the first Ctrl-C, seen after a whole step: a consistent state
                    if main:
                        self.save("last.pt")
                        tqdm.write(f"interrupted: saved {self.out / 'last.pt'} at iteration {self.iteration}; "
                                   f"continue with `lsnet train {self.out / 'config.yaml'} --resume`")
                    saved = True
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            if main and not saved:  # a second Ctrl-C, inside a step or an evaluation: that state is not saved
                kept = self.out / "last.pt"
                tqdm.write("stopped at once (a second Ctrl-C): nothing saved now" + (
                    f"; {kept} (iteration {read_checkpoint(kept)['train']['iteration']}) is kept" if kept.is_file()
                    else ""))
            raise
        finally:
            bar.close()
            teardown()
        elapsed = time.time() - start
        return {"iterations": self.iteration, "seconds": round(elapsed, 1),
                "seconds_per_iter": round(elapsed / max(self.iteration - start_iter, 1), 3),
                "best_AP": self.best, "out": str(self.out), "written": sorted(self.written)}

    def _stopping(self, stop: threading.Event) -> bool:
        """Whether a Ctrl-C asked to stop, agreed by every process (they must stop at the same step)."""
        return self.dist.any(stop.is_set())

    def _epoch(self, bar, stop: threading.Event, metric: str) -> None:
        """The rest of the current epoch; then `last.pt`, and, when due, the evaluation."""
        cfg, main = self.cfg, self.dist.main
        epoch, done_in_epoch = divmod(self.iteration, self.iters_per_epoch)
        self.sampler.set_epoch(epoch, done_in_epoch)
        self.train_set.set_epoch(epoch)
        loader = DataLoader(self.train_set, batch_sampler=self.sampler, collate_fn=_collate,
                            num_workers=cfg["workers"], persistent_workers=False,
                            worker_init_fn=ignore_sigint if cfg["workers"] else None)
        for images, targets in _batches(loader):
            record = self._step(images, targets)
            record["epoch"] = epoch + 1
            if main:
                self.history.append(record)
                self._log(record)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{record['loss']:.3f}")
            if self.iteration >= self.total_iters or self._stopping(stop):
                break
        if self._stopping(stop):
            return
        final = self.iteration >= self.total_iters
        epoch_done = self.iteration % self.iters_per_epoch == 0
        if main:
            self.save("last.pt")  # before any evaluation: a failing evaluation never costs the run
        if main and (final or (epoch_done and cfg["eval_interval"] and (epoch + 1) % cfg["eval_interval"] == 0)):
            ap = self.evaluate(epoch + 1)
            self._log({"epoch": epoch + 1, "iter": self.iteration, f"val_{metric}_AP": ap})
            tqdm.write(f"epoch {epoch + 1}: val {metric} AP {ap:.4f}")
            if ap > self.best:
                self.best = ap
                self.save("best.pt")
            self.save("last.pt")  # now with this evaluation in its history
        if main:
            plot_curves(self.history, self.evals, self.out / "curves.png", metric)
            self.written.update({"config.yaml", "metrics.jsonl", "curves.png"})
        self.dist.barrier()


def _batches(loader: DataLoader):
    """The loader's batches; a data error — raised here or in a worker process, where torch wraps
    it in the worker's traceback — as one line."""
    iterator = iter(loader)
    while True:
        try:
            batch = next(iterator)
        except StopIteration:
            return
        except Exception as e:
            raise LSNetError(data_error(e)) from None
        yield batch


def data_error(error: Exception) -> str:
    """The one line of a data-loading error: an LSNetError's own message, else the error itself
    (torch re-raises a worker's error with the worker's traceback inside its message)."""
    text = str(error).strip()
    last = text.splitlines()[-1] if "Original Traceback" in text else f"{type(error).__name__}: {first_line(error)}"
    kind, _, message = last.partition(": ")
    if kind.endswith("LSNetError"):
        return message
    return f"loading the training data failed: {last}"


def _collate(batch):
    from lsnet.data.collate import collate

    return collate(batch)


TRAIN_STATE_KEYS = ("config", "iteration", "optimizer", "history", "evals", "best", "torch_rng")


def resume_state(cfg: dict) -> dict:
    path = Path(cfg["out"]) / "last.pt"
    if not path.is_file():
        raise LSNetError(f"nothing to resume in {cfg['out']}: it has no last.pt")
    ckpt = read_checkpoint(path)
    if "train" not in ckpt:
        raise LSNetError(f"{path} holds no training state (a deploy checkpoint); it cannot be resumed")
    missing = [k for k in TRAIN_STATE_KEYS if k not in ckpt["train"]]
    if missing:
        raise LSNetError(f"{path} cannot be resumed: its training state lacks {', '.join(missing)}")
    return {"checkpoint": ckpt}


def run(config_file: str | None, overrides: dict, resume: bool) -> dict:
    if resume:
        base = config_io.resolve(config_file, overrides)
        state = resume_state(base)
        cfg = config_io.resolve(None, overrides, base=state["checkpoint"]["train"]["config"])
        cfg["out"] = base["out"]
    else:
        cfg, state = config_io.resolve(config_file, overrides), None
        if (Path(cfg["out"]) / "last.pt").exists():
            raise LSNetError(f"{cfg['out']} already holds a run (last.pt); continue it with --resume, "
                             f"or choose another folder with out=DIR")
    main = int(os.environ.get("RANK", "0")) == 0  # under torchrun, the first process writes
    outputs = [Path(cfg["out"]) / "last.pt"] if main else []
    inputs = [cfg["data"] or None, cfg["load_from"] or None, cfg["pretrained"] or None]
    with claim_outputs(outputs, inputs):
        return Trainer(cfg, state).fit()
