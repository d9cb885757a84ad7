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

Ultralytics from the command line: put `python -m halftrace_steps` before the `yolo` command,
run from the directory holding halftrace_steps.py (or with that directory on PYTHONPATH):
    python -m halftrace_steps yolo train model=yolov8n.yaml data=coco8.yaml epochs=10
  It adds the callbacks to Ultralytics' default callbacks (every trainer the command builds gets
  them) and runs the `yolo` entry point (ultralytics.cfg.entrypoint) with the arguments after `yolo`.

YOLOv5 (pip yolov5 6.2 - 7.0, or a clone's train.py):
    from yolov5 import train
    from halftrace_steps import add_yolov5_callbacks
    add_yolov5_callbacks(train.main.__defaults__[0])   # the Callbacks() train.main uses by default
    train.run(data=..., epochs=...)
  or add two lines to train.py: after the optimizer and scaler exist,
    steps_log = StepsLog(save_dir / "steps.csv", optimizer, scaler=scaler, package="yolov5")
  and after `callbacks.run('on_train_batch_end', ...)` in the batch loop,
    steps_log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)

A plain PyTorch loop (one call per iteration; create the log after the optimizer and scaler):
    log = StepsLog("runs/exp/steps.csv", optimizer, scaler=scaler)
    for epoch in range(epochs):
        for i, batch in enumerate(loader):
            ni = i + len(loader) * epoch
            ...forward, scaler.scale(loss).backward(), maybe scaler.step(optimizer); scaler.update()...
            log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)
    log.close()                               # optional: rows are also written at exit

File: a first comment `# halftrace steps v1: <package> <version>[, torch <version>]`, with an
enabled GradScaler a second one `# scaler: growth_factor=..., backoff_factor=..., growth_interval=...`
(from its public getters), then the column names and one row per iteration.
Columns: ni,epoch,i,accumulate,optimizer_step, lr_pg<j> and momentum_pg<j> for each group j
(Adam-family optimizers: betas[0]), and with an enabled GradScaler scale,found_inf.
- optimizer_step is 1 when optimizer.step() ran in this iteration (a step pre-hook sees it; torch
  older than 2.0 has none, and optimizer.step is wrapped on the instance instead); a step the
  GradScaler skipped is 0, with found_inf 1.
- scale is the loss scale this iteration's loss was multiplied by (before any update in it);
  found_inf is 1 when this iteration's scaler.update() backed off because of inf/NaN gradients
  (the scale after the update is smaller than before; with update(new_scale) it is read from the
  scaler's per-optimizer state).
Floats are written with repr(), which round-trips exactly.

Writes: rows are kept in memory and written (with one open file) whenever the epoch changes, on
close() (the callbacks call it at the end of training) and at interpreter exit. A run killed
outright loses at most the rows of its current epoch; the file never holds a partial row (one
left by an earlier crash is cut off before appending).

Distributed training: only rank 0 writes. The log writes nothing when the environment variable
RANK (or LOCAL_RANK when RANK is not set) is set to anything but 0 (-1, YOLOv5's and
Ultralytics' "not distributed", counts as 0), or when torch.distributed is initialized and
get_rank() is not 0.

Resume: a log created on a file that already exists and is not empty appends to it without a
new header, and writes `# resumed at ni=<ni>` before its first row: `halftrace verify` starts a
resumed part of the run there (last_opt_step = -1, a fresh GradScaler), whether or not ni goes
back. A resumed run needs the callback added again, as at the start (the Ultralytics and YOLOv5
callbacks do this on their own: on_train_start of the resumed run creates the log). So a new run
into a directory that still holds an old steps.csv appends to it as if resumed: delete it first.

Failures never reach the training: any exception inside the logger (creating it, a row, a hook,
a callback, the wrapped scaler.update) is caught, reported once on stderr as
`halftrace_steps: logging stopped: <error>`, the rows so far are written, and logging stops;
training goes on (the wrapped scaler.update still calls the original).
"""
import atexit
import os
import sys

__all__ = ["StepsLog", "add_ultralytics_callbacks", "add_ultralytics_default_callbacks", "add_yolov5_callbacks"]
FORMAT = "halftrace steps v1"
MESSAGE = "halftrace_steps: logging stopped: "

_open_logs = []  # logs with rows to write at exit


def _report(error):
    """The one stderr line of a logger that stops."""
    try:
        print(f"{MESSAGE}{type(error).__name__}: {error}", file=sys.stderr, flush=True)
    except Exception:
        pass


def _close_open_logs():
    for log in list(_open_logs):
        log.close()


atexit.register(_close_open_logs)


def _is_rank_zero():
    """False on a distributed worker other than rank 0 (see the module docstring)."""
    name = "RANK" if "RANK" in os.environ else "LOCAL_RANK"
    value = os.environ.get(name)
    if value is not None and value.strip() not in ("0", "-1"):
        return False
    try:
        import torch.distributed as dist
    except ImportError:
        return True
    return not (dist.is_available() and dist.is_initialized() and dist.get_rank() != 0)


def _cut_partial_row(path):
    """Cuts a last line without its newline (a write interrupted by a kill). Returns the size."""
    size = os.path.getsize(path)
    if size == 0:
        return 0
    with open(path, "rb+") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return size
        end = size
        while end > 0:
            start = max(0, end - 65536)
            f.seek(start)
            chunk = f.read(end - start)
            k = chunk.rfind(b"\n")
            if k >= 0:
                end = start + k + 1
                break
            end = start
        f.truncate(end)
        return end


class StepsLog:
    """Appends one row per training iteration to `path` (the header is written once). Never raises."""

    def __init__(self, path, optimizer, scaler=None, package="torch"):
        self.active = False
        self.path = None
        self.optimizer = optimizer
        self.scaler = None
        self.stepped = False
        self.scale_before = None  # the scale before this iteration's first update, when it updated
        self.found_inf = 0
        self.resumed = False
        self._failed = False
        self._closed = False
        self._file = None
        self._buffer = []
        self._started = False  # a row (and the header or the resume line before it) was buffered
        self._last_epoch = None
        self._undo = []  # restores what the log changed on the optimizer and scaler
        try:
            self._setup(os.fspath(path), optimizer, scaler, package)
        except Exception as e:
            self._fail(e)

    def _setup(self, path, optimizer, scaler, package):
        if not _is_rank_zero():
            self._closed = True
            return
        import torch

        if scaler is not None:
            enabled = bool(scaler.is_enabled()) if hasattr(scaler, "is_enabled") else hasattr(scaler, "get_scale")
            scaler = scaler if enabled else None
        self.groups = len(optimizer.param_groups)
        version = package
        try:
            version = f"{package} {sys.modules[package].__version__}" if package in sys.modules else package
        except AttributeError:
            pass
        torch_version = "" if package == "torch" else f", torch {torch.__version__}"  # a plain loop names torch once
        self.header_comment = f"# {FORMAT}: {version}{torch_version}"
        self.scaler_comment = None
        if scaler is not None:
            getters = [getattr(scaler, f"get_{name}", None) for name in ("growth_factor", "backoff_factor", "growth_interval")]
            if all(callable(g) for g in getters):
                growth, backoff, interval = (g() for g in getters)
                self.scaler_comment = (f"# scaler: growth_factor={float(growth)!r}, backoff_factor={float(backoff)!r}, "
                                       f"growth_interval={int(interval)}")
        self.path = path
        for log in list(_open_logs):  # an earlier log of this file in this process (a resume): its rows go first
            if os.path.abspath(log.path) == os.path.abspath(path):
                log.close()
        self.resumed = os.path.exists(path) and _cut_partial_row(path) > 0
        self.scaler = scaler
        self._hook_optimizer(optimizer)
        if scaler is not None:
            self._wrap_update(scaler)
        self.active = True
        _open_logs.append(self)

    # -- hooks ----------------------------------------------------------------------------------

    def _hook_optimizer(self, optimizer):
        if hasattr(optimizer, "register_step_pre_hook"):  # torch >= 2.0: runs inside optimizer.step()
            handle = optimizer.register_step_pre_hook(self._mark)
            self._undo.append(handle.remove)
            return
        # torch < 2.0: wrap the instance's step (GradScaler.step calls optimizer.step only when it
        # does not skip). A bound method, so that an LR scheduler created later (torch 1.x wraps
        # optimizer.step through its __self__ and __func__) still calls this wrapper.
        import types

        original = optimizer.step
        log = self

        def step(_optimizer, *args, **kwargs):
            log.stepped = True
            return original(*args, **kwargs)

        if getattr(original, "_with_counter", False):
            step._with_counter = True  # a scheduler's counter is already in `original`
        self._patch(optimizer, "step", types.MethodType(step, optimizer))

    def _mark(self, optimizer, args, kwargs):
        self.stepped = True

    def _wrap_update(self, scaler):
        original = scaler.update
        log = self

        def update(new_scale=None):
            before = found = None
            if log.active:
                try:
                    before = float(scaler.get_scale())
                    if new_scale is not None:  # no rule to read found_inf from: the scaler's own state
                        states = scaler._per_optimizer_states
                        flags = [v for state in states.values() for v in state["found_inf_per_device"].values()]
                        found = int(sum(float(v.item()) for v in flags) > 0)
                except Exception as e:
                    log._fail(e)
                    before = None
            result = original(new_scale)
            if before is not None and log.active:
                try:
                    if found is None:  # PyTorch: an overflow multiplies by backoff_factor < 1, otherwise it never shrinks
                        found = int(float(scaler.get_scale()) < before)
                    if log.scale_before is None:
                        log.scale_before = before
                    log.found_inf = max(log.found_inf, found)
                except Exception as e:
                    log._fail(e)
            return result

        self._patch(scaler, "update", update)

    def _patch(self, obj, name, replacement):
        """Sets obj.<name> to `replacement` on the instance, and registers its undo: the instance's
        own attribute back, or none (the class's method again), unless someone replaced it since."""
        had, original = name in vars(obj), vars(obj).get(name)
        setattr(obj, name, replacement)

        def undo():
            if vars(obj).get(name) is replacement:
                if had:
                    setattr(obj, name, original)
                else:
                    delattr(obj, name)

        self._undo.append(undo)

    # -- rows -----------------------------------------------------------------------------------

    def _header(self):
        g = range(self.groups)
        columns = ["ni", "epoch", "i", "accumulate", "optimizer_step"] + [f"lr_pg{j}" for j in g] + [f"momentum_pg{j}" for j in g]
        if self.scaler is not None:
            columns += ["scale", "found_inf"]
        comments = [self.header_comment] + ([self.scaler_comment] if self.scaler_comment else [])
        return "\n".join(comments + [",".join(columns)]) + "\n"

    def iteration(self, ni, epoch, i, accumulate):
        """Logs the iteration that just ended (call it after the optimizer step decision)."""
        if not self.active:
            return
        try:
            groups = self.optimizer.param_groups
            momenta = [g["momentum"] if "momentum" in g else g["betas"][0] if "betas" in g else float("nan") for g in groups]
            row = [int(ni), int(epoch), int(i), int(accumulate), int(self.stepped)] + [float(g["lr"]) for g in groups] + [float(m) for m in momenta]
            if self.scaler is not None:
                scale = self.scale_before if self.scale_before is not None else float(self.scaler.get_scale())
                row += [scale, self.found_inf]
            text = ",".join(repr(v) for v in row) + "\n"
            if self._last_epoch is not None and row[1] != self._last_epoch:
                self._flush()
            if not self._started:
                self._buffer.append(f"# resumed at ni={row[0]}\n" if self.resumed else self._header())
                self._started = True
            self._buffer.append(text)
            self._last_epoch = row[1]
        except Exception as e:
            self._fail(e)
        finally:
            self.stepped, self.scale_before, self.found_inf = False, None, 0

    def _flush(self):
        if not self._buffer:
            return
        if self._file is None:
            self._file = open(self.path, "a", encoding="utf-8")
        self._file.write("".join(self._buffer))
        self._file.flush()
        self._buffer.clear()

    def flush(self):
        """Writes the rows kept in memory."""
        if self.active:
            try:
                self._flush()
            except Exception as e:
                self._fail(e)

    def close(self):
        """Writes the rows kept in memory, closes the file and stops logging (later rows are ignored)."""
        if self._closed:
            return
        try:
            self._flush()
        except Exception as e:
            self._fail(e)
        self._release()

    def _fail(self, error):
        """Stops logging after an error: reported once, the rows so far written, nothing raised."""
        self.active = False
        if self._failed:
            return
        self._failed = True
        _report(error)
        try:
            self._flush()
        except Exception:
            pass
        self._release()

    def _release(self):
        self.active = False
        self._closed = True
        self._buffer.clear()
        if self in _open_logs:
            _open_logs.remove(self)
        for undo in self._undo:
            try:
                undo()
            except Exception:
                pass
        self._undo = []
        if self._file is not None:
            try:
                self._file.close()
            except Exception:
                pass
            self._file = None


# ------------------------------------------------------------------------------------------------
# callbacks


def _stop(state, error):
    """A callback failed: the log stops (reported once per training run)."""
    log = state.get("log")
    if log is not None and log._failed:
        pass  # the log reported its own error
    elif log is not None and not log._closed:
        log._fail(error)
    elif not state.get("reported"):
        _report(error)
    state["reported"] = True
    state["log"] = None


def _guarded(state, function):
    def callback(*args, **kwargs):
        try:
            function(*args, **kwargs)
        except Exception as e:
            _stop(state, e)

    callback.__name__ = callback.__qualname__ = f"halftrace_steps_{function.__name__}"
    return callback


def _ultralytics_callbacks():
    """The Ultralytics callbacks (event -> function), sharing one state."""
    state = {}

    def on_train_start(trainer):
        previous = state.get("log")
        state.clear()
        if previous is not None:
            previous.close()
        state["log"] = StepsLog(os.path.join(trainer.save_dir, "steps.csv"), trainer.optimizer,
                                scaler=getattr(trainer, "scaler", None), package="ultralytics")
        state["nb"] = len(trainer.train_loader)

    def on_train_epoch_start(trainer):
        if state.get("log") is not None:
            state["i"] = 0
            state["nb"] = len(trainer.train_loader)  # the loader can be rebuilt (smaller batch after an out-of-memory error)

    def on_train_batch_end(trainer):
        log = state.get("log")
        if log is None or not log.active:
            return
        i = state.get("i", 0)
        log.iteration(ni=i + state["nb"] * trainer.epoch, epoch=trainer.epoch, i=i, accumulate=trainer.accumulate)
        state["i"] = i + 1

    def on_train_epoch_end(trainer):
        if state.get("log") is not None:
            state["log"].flush()

    def on_train_end(trainer):
        if state.get("log") is not None:
            state["log"].close()

    return {f.__name__: _guarded(state, f) for f in (on_train_start, on_train_epoch_start, on_train_batch_end, on_train_epoch_end, on_train_end)}


def add_ultralytics_callbacks(model):
    """Registers the callbacks on an Ultralytics YOLO model; steps.csv goes into the run directory."""
    try:
        for event, callback in _ultralytics_callbacks().items():
            model.add_callback(event, callback)
    except Exception as e:
        _report(e)


def add_ultralytics_default_callbacks():
    """Adds the callbacks to Ultralytics' default callbacks (ultralytics.utils.callbacks.base
    .default_callbacks; ultralytics.yolo.utils.callbacks.base in early 8.0): every trainer created
    afterwards in this process gets them. `python -m halftrace_steps yolo ...` calls it."""
    try:
        try:
            from ultralytics.utils.callbacks import base
        except ImportError:
            from ultralytics.yolo.utils.callbacks import base
        # Two layouts: {event: [functions]} (8.0.x after 8.0.0's, 8.1 - 8.4), and {event: function}
        # (8.0.0, whose get_default_callbacks wraps each value in a list): there the value must stay
        # one function, so it becomes one that calls the original and then the logger's.
        single = any(callable(v) for v in base.default_callbacks.values())
        for event, callback in _ultralytics_callbacks().items():
            existing = base.default_callbacks.get(event)
            if not single:
                base.default_callbacks.setdefault(event, []).append(callback)
            elif existing is None:
                base.default_callbacks[event] = callback
            else:
                def both(*args, _first=existing, _then=callback, **kwargs):
                    _first(*args, **kwargs)
                    _then(*args, **kwargs)
                base.default_callbacks[event] = both
    except Exception as e:
        _report(e)


def add_yolov5_callbacks(callbacks):
    """Registers the callbacks on a YOLOv5 `Callbacks` instance. YOLOv5 passes a callback only `ni`
    and the model, so the callbacks read the rest (optimizer, scaler, epoch, i, accumulate,
    save_dir) from train()'s frame, the caller of Callbacks.run."""
    state = {}

    def train_locals():
        frame = sys._getframe(1)
        while frame is not None and "optimizer" not in frame.f_locals:
            frame = frame.f_back
        if frame is None:
            raise RuntimeError("train()'s frame (with its optimizer) was not found")
        return frame.f_locals

    def on_train_start(*args, **kwargs):
        previous = state.get("log")
        state.clear()
        if previous is not None:
            previous.close()
        f = train_locals()
        state["log"] = StepsLog(os.path.join(str(f["save_dir"]), "steps.csv"), f["optimizer"], scaler=f.get("scaler"), package="yolov5")

    def on_train_batch_end(*args, **kwargs):
        log = state.get("log")
        if log is None or not log.active:
            return
        f = train_locals()
        log.iteration(ni=f["ni"], epoch=f["epoch"], i=f["i"], accumulate=f["accumulate"])

    def on_train_epoch_end(*args, **kwargs):
        if state.get("log") is not None:
            state["log"].flush()

    def on_train_end(*args, **kwargs):
        if state.get("log") is not None:
            state["log"].close()

    for f in (on_train_start, on_train_batch_end, on_train_epoch_end, on_train_end):
        try:
            callbacks.register_action(f.__name__, callback=_guarded(state, f))
        except Exception as e:  # a release without the hook (the rows are still written at exit)
            if f.__name__ in ("on_train_start", "on_train_batch_end"):
                _report(e)
                return


# ------------------------------------------------------------------------------------------------
# python -m halftrace_steps yolo ...


def main(argv=None):
    """`python -m halftrace_steps yolo <yolo arguments>`: the Ultralytics CLI with the callbacks."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] not in ("yolo", "ultralytics"):
        print("usage: python -m halftrace_steps yolo train model=... data=... [more yolo arguments]", file=sys.stderr)
        return 2
    sys.argv = ["yolo"] + argv[1:]  # before Ultralytics is imported: it reads sys.argv into ARGV at import
    add_ultralytics_default_callbacks()
    try:
        from ultralytics import cfg
    except ImportError:
        from ultralytics.yolo import cfg  # early 8.0
    if hasattr(cfg, "ARGV"):
        cfg.ARGV = sys.argv
    return cfg.entrypoint()


if __name__ == "__main__":
    sys.exit(main())
