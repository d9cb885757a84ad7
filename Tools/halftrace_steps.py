"""Writes steps.csv, the per-iteration log that `halftrace verify` checks: for every training
iteration, the accumulation, whether the optimizer stepped, every parameter group's lr and
momentum as that iteration's step used them, and the GradScaler's scale and overflow flag.

Copy this file next to your training script (it needs only the standard library and torch) and
use one of:

Ultralytics (8.0 - 8.4):
    from ultralytics import YOLO
    from halftrace_steps import add_ultralytics_callbacks
    model = YOLO("yolov8n.yaml")
    add_ultralytics_callbacks(model)          # writes <run dir>/steps.csv
    model.train(data=..., epochs=...)

YOLOv5 (pip yolov5 6.2 - 7.0, or a clone's train.py):
    from yolov5 import train
    from halftrace_steps import add_yolov5_callbacks
    add_yolov5_callbacks(train.main.__defaults__[0])   # the Callbacks() train.main uses by default
    train.run(data=..., epochs=...)
  or add two lines to train.py: after the optimizer and scaler exist,
    steps_log = StepsLog(save_dir / "steps.csv", optimizer, scaler=scaler, package="yolov5")
  and after `callbacks.run('on_train_batch_end', ...)` in the batch loop,
    steps_log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)

A plain PyTorch loop (one call per iteration):
    log = StepsLog("runs/exp/steps.csv", optimizer, scaler=scaler)
    for epoch in range(epochs):
        for i, batch in enumerate(loader):
            ni = i + len(loader) * epoch
            ...forward, scaler.scale(loss).backward(), maybe scaler.step(optimizer); scaler.update()...
            log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)

Columns: ni,epoch,i,accumulate,optimizer_step, lr_pg<j> and momentum_pg<j> for each group j
(Adam-family optimizers: betas[0]), and with an enabled GradScaler scale,found_inf.
- optimizer_step is 1 when optimizer.step() ran in this iteration (a step pre-hook sees it); a
  step the GradScaler skipped is 0, with found_inf 1.
- scale is the loss scale this iteration's loss was multiplied by (before any update in it);
  found_inf is 1 when this iteration's scaler.update() backed off because of inf/NaN gradients.
A resumed run appends to the same file, so its ni go back to the start of the interrupted epoch.
Floats are written with repr(), which round-trips exactly.
"""
import os
import sys

__all__ = ["StepsLog", "add_ultralytics_callbacks", "add_yolov5_callbacks"]
FORMAT = "halftrace steps v1"


class StepsLog:
    """Appends one row per training iteration to `path` (the header is written once)."""

    def __init__(self, path, optimizer, scaler=None, package="torch"):
        import torch

        self.path = os.fspath(path)
        self.optimizer = optimizer
        self.stepped = False
        self.scale_before = None  # the scale before this iteration's update, when it updated
        self.found_inf = 0
        self.scaler = scaler if scaler is not None and scaler.is_enabled() else None
        optimizer.register_step_pre_hook(self._mark)  # runs inside optimizer.step(): the scaler did not skip
        if self.scaler is not None:
            update = self.scaler.update

            def logged_update(new_scale=None):
                self.scale_before = float(self.scaler.get_scale())
                states = getattr(self.scaler, "_per_optimizer_states", {})
                flags = [v for state in states.values() for v in state.get("found_inf_per_device", {}).values()]
                self.found_inf = int(sum(float(v.item()) for v in flags) > 0)
                return update(new_scale)

            self.scaler.update = logged_update
        version = package
        try:
            version = f"{package} {sys.modules[package].__version__}" if package in sys.modules else package
        except AttributeError:
            pass
        torch_version = "" if package == "torch" else f", torch {torch.__version__}"  # a plain loop names torch once
        self.header_comment = f"# {FORMAT}: {version}{torch_version}"
        self.groups = len(optimizer.param_groups)

    def _mark(self, optimizer, args, kwargs):
        self.stepped = True

    def _header(self):
        g = range(self.groups)
        columns = ["ni", "epoch", "i", "accumulate", "optimizer_step"] + [f"lr_pg{j}" for j in g] + [f"momentum_pg{j}" for j in g]
        if self.scaler is not None:
            columns += ["scale", "found_inf"]
        return self.header_comment + "\n" + ",".join(columns) + "\n"

    def iteration(self, ni, epoch, i, accumulate):
        """Logs the iteration that just ended (call it after the optimizer step decision)."""
        groups = self.optimizer.param_groups
        momenta = [g["momentum"] if "momentum" in g else g["betas"][0] if "betas" in g else float("nan") for g in groups]
        row = [int(ni), int(epoch), int(i), int(accumulate), int(self.stepped)] + [float(g["lr"]) for g in groups] + [float(m) for m in momenta]
        if self.scaler is not None:
            scale = self.scale_before if self.scale_before is not None else float(self.scaler.get_scale())
            row += [scale, self.found_inf]
        text = ",".join(repr(v) for v in row) + "\n"
        new = not os.path.exists(self.path) or os.path.getsize(self.path) == 0
        with open(self.path, "a") as f:
            f.write((self._header() if new else "") + text)
        self.stepped, self.scale_before, self.found_inf = False, None, 0


def add_ultralytics_callbacks(model):
    """Registers the callbacks on an Ultralytics YOLO model; steps.csv goes into the run directory."""
    state = {}

    def on_train_start(trainer):
        state["log"] = StepsLog(os.path.join(trainer.save_dir, "steps.csv"), trainer.optimizer,
                                scaler=getattr(trainer, "scaler", None), package="ultralytics")
        state["nb"] = len(trainer.train_loader)

    def on_train_epoch_start(trainer):
        state["i"] = 0

    def on_train_batch_end(trainer):
        i = state.get("i", 0)
        state["log"].iteration(ni=i + state["nb"] * trainer.epoch, epoch=trainer.epoch, i=i, accumulate=trainer.accumulate)
        state["i"] = i + 1

    model.add_callback("on_train_start", on_train_start)
    model.add_callback("on_train_epoch_start", on_train_epoch_start)
    model.add_callback("on_train_batch_end", on_train_batch_end)


def add_yolov5_callbacks(callbacks):
    """Registers the callbacks on a YOLOv5 `Callbacks` instance. YOLOv5 passes a callback only `ni`
    and the model, so the callbacks read the rest (optimizer, scaler, epoch, i, accumulate,
    save_dir) from train()'s frame, the caller of Callbacks.run."""
    state = {}

    def train_locals():
        frame = sys._getframe(2)  # 0: this function, 1: the callback, 2: Callbacks.run, 3: train()
        while frame is not None and "optimizer" not in frame.f_locals:
            frame = frame.f_back
        if frame is None:
            raise RuntimeError("halftrace_steps: train()'s frame (with its optimizer) was not found")
        return frame.f_locals

    def on_train_start(*args, **kwargs):
        f = train_locals()
        state["log"] = StepsLog(os.path.join(str(f["save_dir"]), "steps.csv"), f["optimizer"], scaler=f.get("scaler"), package="yolov5")

    def on_train_batch_end(*args, **kwargs):
        f = train_locals()
        state["log"].iteration(ni=f["ni"], epoch=f["epoch"], i=f["i"], accumulate=f["accumulate"])

    callbacks.register_action("on_train_start", callback=on_train_start)
    callbacks.register_action("on_train_batch_end", callback=on_train_batch_end)
