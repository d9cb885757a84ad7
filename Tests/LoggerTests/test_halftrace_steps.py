"""Tests of Tools/halftrace_steps.py (standard library only, no real torch).

Every case writes a small fake `torch` package (torch.__version__, torch.distributed, an SGD-like
optimizer with or without register_step_pre_hook, a GradScaler with PyTorch's update rule) into a
temporary directory put first on sys.path, and imports halftrace_steps afresh.

    python3 -m unittest discover -s Tests/LoggerTests -v
"""
import builtins
import contextlib
import importlib
import io
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest
from pathlib import Path
from unittest import mock

HERE = Path(__file__).resolve().parent
TOOLS = HERE.parents[1] / "Tools"
MESSAGE = "halftrace_steps: logging stopped: "
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

# ------------------------------------------------------------------------------------------------
# the fake torch

FAKE_TORCH = {
    "torch/__init__.py": '''
        __version__ = {version!r}
        from . import distributed, optim, amp
        ''',
    "torch/distributed.py": '''
        rank = None  # a test sets it to "initialize" the process group
        def is_available():
            return True
        def is_initialized():
            return rank is not None
        def get_rank():
            return rank
        ''',
    "torch/optim.py": '''
        import weakref
        STEP_PRE_HOOKS = {hooks!r}  # torch >= 2.0

        class _Handle:
            def __init__(self, hooks, hook):
                self.hooks, self.hook = hooks, hook
            def remove(self):
                if self.hook in self.hooks:
                    self.hooks.remove(self.hook)

        class SGD:
            def __init__(self, param_groups):
                self.param_groups = [dict(g) for g in param_groups]
                self._hooks = []
                self.steps = 0  # real steps
            def step(self, closure=None):
                for hook in list(self._hooks):
                    hook(self, (), {{}})
                self.steps += 1

        if STEP_PRE_HOOKS:
            def register_step_pre_hook(self, hook):
                self._hooks.append(hook)
                return _Handle(self._hooks, hook)
            SGD.register_step_pre_hook = register_step_pre_hook

        class LambdaLR:
            """torch 1.x's scheduler wraps optimizer.step on the instance (with_counter)."""
            def __init__(self, optimizer, lr_lambda):
                def with_counter(method):
                    if getattr(method, "_with_counter", False):
                        return method
                    instance_ref = weakref.ref(method.__self__)
                    func = method.__func__
                    cls = instance_ref().__class__
                    del method
                    def wrapper(*args, **kwargs):
                        instance = instance_ref()
                        instance._step_count += 1
                        wrapped = func.__get__(instance, cls)
                        return wrapped(*args, **kwargs)
                    wrapper._with_counter = True
                    return wrapper
                optimizer._step_count = 0
                optimizer.step = with_counter(optimizer.step)
        ''',
    "torch/amp.py": '''
        class _Flag:
            def __init__(self, value):
                self.value = value
            def item(self):
                return self.value

        class GradScaler:
            """PyTorch's rule: an update after an overflow multiplies the scale by backoff_factor and
            resets the tracker; growth_interval clean updates in a row multiply it by growth_factor."""
            def __init__(self, device="cpu", init_scale=65536.0, growth_factor=2.0, backoff_factor=0.5,
                         growth_interval=2000, enabled=True):
                self._enabled = enabled
                self._scale = float(init_scale)
                self._growth_factor, self._backoff_factor = float(growth_factor), float(backoff_factor)
                self._growth_interval, self._tracker = int(growth_interval), 0
                self._per_optimizer_states = {{}}
                self.inf = False  # the test's stand-in for an inf in the unscaled gradients
                self.fail = False  # get_scale raises (the failing-scaler case)
            def is_enabled(self):
                return self._enabled
            def get_scale(self):
                if self.fail:
                    raise RuntimeError("get_scale failed")
                return self._scale if self._enabled else 1.0
            def get_growth_factor(self):
                return self._growth_factor
            def get_backoff_factor(self):
                return self._backoff_factor
            def get_growth_interval(self):
                return self._growth_interval
            def step(self, optimizer):
                if not self._enabled:
                    return optimizer.step()
                self._per_optimizer_states[id(optimizer)] = {{"found_inf_per_device": {{"cpu": _Flag(1.0 if self.inf else 0.0)}}}}
                if not self.inf:
                    return optimizer.step()
            def update(self, new_scale=None):
                if not self._enabled:
                    return
                if new_scale is not None:
                    self._scale = float(new_scale)
                else:
                    found = sum(f.item() for s in self._per_optimizer_states.values() for f in s["found_inf_per_device"].values())
                    if found:
                        self._scale *= self._backoff_factor
                        self._tracker = 0
                    else:
                        self._tracker += 1
                        if self._tracker == self._growth_interval:
                            self._scale *= self._growth_factor
                            self._tracker = 0
                self._per_optimizer_states = {{}}
        ''',
}

# A fake Ultralytics: default_callbacks, get_default_callbacks (a deep copy, as the real one) and a
# CLI entry point reading ARGV (set from sys.argv at import) that trains with a trainer built
# from the default callbacks.
FAKE_ULTRALYTICS = {
    "ultralytics/__init__.py": '''
        __version__ = "8.4.0"
        ''',
    "ultralytics/utils/__init__.py": '''
        import sys
        ARGV = sys.argv or ["", ""]
        ''',
    "ultralytics/utils/callbacks/__init__.py": "",
    "ultralytics/utils/callbacks/base.py": '''
        from collections import defaultdict
        from copy import deepcopy
        def on_train_start(trainer):
            pass
        default_callbacks = {{"on_train_start": [on_train_start], "on_train_batch_end": [], "on_train_end": []}}
        def get_default_callbacks():
            return defaultdict(list, deepcopy(default_callbacks))
        ''',
    "ultralytics/cfg/__init__.py": '''
        import sys
        ARGV = sys.argv or ["", ""]

        def entrypoint(debug=""):
            import torch
            from ultralytics.utils import ARGV as utils_argv
            from ultralytics.utils.callbacks.base import get_default_callbacks
            args = ARGV[1:]
            assert ARGV[0] == "yolo" and utils_argv[0] == "yolo", (ARGV, utils_argv)
            assert args[0] == "train", args
            overrides = dict(a.split("=", 1) for a in args[1:])

            class Trainer:
                pass

            t = Trainer()
            t.callbacks = get_default_callbacks()
            t.save_dir, t.epochs, t.accumulate = overrides["project"], int(overrides["epochs"]), 2
            t.train_loader = [None] * 3
            t.optimizer = torch.optim.SGD([{{"lr": 0.01, "momentum": 0.937}}])
            t.scaler = torch.amp.GradScaler("cuda", enabled=False)
            run = lambda event: [cb(t) for cb in t.callbacks.get(event, [])]
            run("on_train_start")
            last_opt_step = -1
            for t.epoch in range(t.epochs):
                run("on_train_epoch_start")
                for i in range(len(t.train_loader)):
                    ni = i + len(t.train_loader) * t.epoch
                    if ni - last_opt_step >= t.accumulate:
                        t.scaler.step(t.optimizer)
                        t.scaler.update()
                        last_opt_step = ni
                    run("on_train_batch_end")
                run("on_train_epoch_end")
            run("on_train_end")
        ''',
}


def write_package(root, files, **values):
    for name, text in files.items():
        p = Path(root) / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).format(**values).lstrip())


def purge_modules():
    for name in list(sys.modules):
        if name.split(".")[0] in ("torch", "halftrace_steps", "ultralytics"):
            del sys.modules[name]


# ------------------------------------------------------------------------------------------------
# the training loop and the rows it must give

NB, ACCUMULATE, GROWTH_INTERVAL = 5, 2, 3
GROUPS = [{"lr": 0.1, "momentum": 0.9}, {"lr": 0.01, "betas": (0.937, 0.999)}]
COLUMNS = "ni,epoch,i,accumulate,optimizer_step,lr_pg0,lr_pg1,momentum_pg0,momentum_pg1,scale,found_inf"
SCALER_LINE = "# scaler: growth_factor=2.0, backoff_factor=0.5, growth_interval=3"


def lr(ni):
    return 0.1 * (1 - ni / 30)  # floats whose repr needs 17 digits


def run_loop(path, epochs, start_epoch=0, infs=(), init_scale=1024.0, close=True, block_at=None,
             scheduler=None, fail_from=None, scaler=True):
    """The YOLOv5 step rule (ni - last_opt_step >= accumulate, last_opt_step = -1 at the start of
    this part), an inf in the gradients of the iterations `infs` (it stays until the next step).
    Returns (log, optimizer, scaler, iterations run)."""
    import torch
    import halftrace_steps

    opt = torch.optim.SGD(GROUPS)
    if scheduler == "before":
        torch.optim.LambdaLR(opt, lambda e: 1.0)
    sc = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=GROWTH_INTERVAL) if scaler else None
    log = halftrace_steps.StepsLog(path, opt, scaler=sc)
    if scheduler == "after":
        torch.optim.LambdaLR(opt, lambda e: 1.0)
    last_opt_step, pending, iterations = -1, False, 0
    for epoch in range(start_epoch, epochs):
        for i in range(NB):
            ni = i + NB * epoch
            opt.param_groups[0]["lr"] = lr(ni)
            if sc is not None and fail_from is not None:
                sc.fail = ni >= fail_from
            pending = pending or ni in infs
            if ni - last_opt_step >= ACCUMULATE:
                if sc is not None:
                    sc.inf = pending
                    sc.step(opt)
                    sc.update()
                else:
                    opt.step()
                pending, last_opt_step = False, ni
            log.iteration(ni=ni, epoch=epoch, i=i, accumulate=ACCUMULATE)
            iterations += 1
            if ni == block_at:  # the kill test: wait here to be killed
                import threading

                print("blocked", flush=True)
                threading.Event().wait()
    if close:
        log.close()
    return log, opt, sc, iterations


def expected_rows(first_ni, end_ni, infs=(), scale=1024.0):
    """The rows of ni first_ni..end_ni-1 computed independently (PyTorch's GradScaler rule, a fresh
    scaler and last_opt_step = -1 at first_ni). Returns (rows, scale after, real steps)."""
    rows, last, tracker, pending, steps = [], -1, 0, False, 0
    for ni in range(first_ni, end_ni):
        epoch, i = divmod(ni, NB)
        pending = pending or ni in infs
        stepped = found = 0
        row_scale = scale
        if ni - last >= ACCUMULATE:
            if pending:
                found, scale, tracker = 1, scale * 0.5, 0
            else:
                stepped, tracker, steps = 1, tracker + 1, steps + 1
                if tracker == GROWTH_INTERVAL:
                    scale, tracker = scale * 2.0, 0
            pending, last = False, ni
        rows.append(f"{ni},{epoch},{i},{ACCUMULATE},{stepped},{lr(ni)!r},0.01,0.9,0.937,{row_scale!r},{found}")
    return rows, scale, steps


_real_open = builtins.open


def read(path):
    with _real_open(path) as f:  # the real open (the buffering test patches builtins.open)
        return f.read()


class LoggerTestCase(unittest.TestCase):
    torch_version, step_pre_hooks = "2.1.0", True

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="halftrace-steps-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.fake = os.path.join(self.tmp, "fake")
        write_package(self.fake, FAKE_TORCH, version=self.torch_version, hooks=self.step_pre_hooks)
        sys.path.insert(0, self.fake)
        purge_modules()
        env = mock.patch.dict(os.environ)
        env.start()
        self.addCleanup(env.stop)
        for name in ("RANK", "LOCAL_RANK"):
            os.environ.pop(name, None)
        self.steps = importlib.import_module("halftrace_steps")
        self.path = os.path.join(self.tmp, "steps.csv")

    def tearDown(self):
        self.steps._close_open_logs()
        sys.path.remove(self.fake)
        purge_modules()

    def run_quiet(self, *args, **kwargs):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            result = run_loop(*args, **kwargs)
        return result, err.getvalue()


# ------------------------------------------------------------------------------------------------


class NormalLoop(LoggerTestCase):
    def test_rows_steps_and_overflows(self):
        infs = {6}
        (_, opt, sc, n), err = self.run_quiet(self.path, epochs=3, infs=infs)
        self.assertEqual(err, "")
        rows, scale, steps = expected_rows(0, 15, infs)
        self.assertEqual(read(self.path), "\n".join(["# halftrace steps v1: torch 2.1.0", SCALER_LINE, COLUMNS] + rows) + "\n")
        # the same, spelled out: steps at odd ni; 5 grows the scale (3 clean updates); the inf of
        # ni 6 makes the step of ni 7 skip (optimizer_step 0, found_inf 1) and back off
        self.assertEqual(rows[5], f"5,1,0,2,1,{lr(5)!r},0.01,0.9,0.937,1024.0,0")
        self.assertEqual(rows[6], f"6,1,1,2,0,{lr(6)!r},0.01,0.9,0.937,2048.0,0")
        self.assertEqual(rows[7], "7,1,2,2,0,0.07666666666666666,0.01,0.9,0.937,2048.0,1")
        self.assertEqual(rows[8], f"8,1,3,2,0,{lr(8)!r},0.01,0.9,0.937,1024.0,0")
        self.assertEqual((opt.steps, sc.get_scale()), (steps, scale))

    def test_scaler_variants(self):
        import torch

        with self.subTest("disabled scaler: no scale columns, no scaler line"):
            opt, sc = torch.optim.SGD(GROUPS[:1]), torch.amp.GradScaler(enabled=False)
            log = self.steps.StepsLog(self.path, opt, scaler=sc)
            sc.step(opt)
            sc.update()
            log.iteration(ni=0, epoch=0, i=0, accumulate=1)
            log.close()
            self.assertEqual(read(self.path), "# halftrace steps v1: torch 2.1.0\nni,epoch,i,accumulate,optimizer_step,lr_pg0,momentum_pg0\n"
                                              "0,0,0,1,1,0.1,0.9\n")
            os.remove(self.path)
        with self.subTest("a scaler without is_enabled or getters: enabled when it has get_scale"):
            class Scaler:
                def get_scale(self):
                    return 8.0

                def update(self, new_scale=None):
                    pass

            log = self.steps.StepsLog(self.path, torch.optim.SGD(GROUPS[:1]), scaler=Scaler())
            log.iteration(ni=0, epoch=0, i=0, accumulate=1)
            log.close()
            self.assertEqual(read(self.path).splitlines()[1:], ["ni,epoch,i,accumulate,optimizer_step,lr_pg0,momentum_pg0,scale,found_inf",
                                                                "0,0,0,1,0,0.1,0.9,8.0,0"])
            os.remove(self.path)
            log = self.steps.StepsLog(self.path, torch.optim.SGD(GROUPS[:1]), scaler=object())
            log.iteration(ni=0, epoch=0, i=0, accumulate=1)
            log.close()
            self.assertEqual(read(self.path).splitlines()[1], "ni,epoch,i,accumulate,optimizer_step,lr_pg0,momentum_pg0")
            os.remove(self.path)
        with self.subTest("update(new_scale): found_inf from the scaler's per-optimizer state"):
            opt, sc = torch.optim.SGD(GROUPS[:1]), torch.amp.GradScaler(init_scale=64.0)
            log = self.steps.StepsLog(self.path, opt, scaler=sc)
            for ni, inf in enumerate([False, True]):
                sc.inf = inf
                sc.step(opt)
                sc.update(new_scale=100.0 + ni)
                log.iteration(ni=ni, epoch=0, i=ni, accumulate=1)
            log.close()
            self.assertEqual(read(self.path).splitlines()[3:], ["0,0,0,1,1,0.1,0.9,64.0,0", "1,0,1,1,0,0.1,0.9,100.0,1"])
            os.remove(self.path)
        with self.subTest("update(new_scale) without that state: one message, the update still runs"):
            opt, sc = torch.optim.SGD(GROUPS[:1]), torch.amp.GradScaler(init_scale=64.0)
            log = self.steps.StepsLog(self.path, opt, scaler=sc)
            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                sc.step(opt)
                del sc._per_optimizer_states  # another scaler's private state
                sc.update(new_scale=3.0)
                log.iteration(ni=0, epoch=0, i=0, accumulate=1)
                sc.update(new_scale=5.0)
            self.assertEqual(err.getvalue(), f"{MESSAGE}AttributeError: 'GradScaler' object has no attribute '_per_optimizer_states'\n")
            self.assertEqual(sc.get_scale(), 5.0)
            self.assertFalse(os.path.exists(self.path))


class OldTorch(LoggerTestCase):
    torch_version, step_pre_hooks = "1.13.1", False

    def test_steps_marked_without_step_pre_hooks(self):
        import torch

        self.assertFalse(hasattr(torch.optim.SGD, "register_step_pre_hook"))
        infs = {2, 11}
        rows, scale, steps = expected_rows(0, 15, infs)
        for scheduler in (None, "before", "after"):  # torch 1.x's LR schedulers wrap optimizer.step too
            with self.subTest(scheduler=scheduler):
                (_, opt, sc, _), err = self.run_quiet(self.path, epochs=3, infs=infs, scheduler=scheduler)
                self.assertEqual(err, "")
                self.assertEqual(read(self.path), "\n".join(["# halftrace steps v1: torch 1.13.1", SCALER_LINE, COLUMNS] + rows) + "\n")
                self.assertEqual((opt.steps, sc.get_scale()), (steps, scale))
                if scheduler:
                    self.assertEqual(opt._step_count, steps)  # the scheduler counts each real step once
                os.remove(self.path)


class Failures(LoggerTestCase):
    def test_failing_scaler_stops_logging_once(self):
        infs = {6}
        (log, opt, sc, n), err = self.run_quiet(self.path, epochs=3, infs=infs, fail_from=7)
        self.assertEqual(err, f"{MESSAGE}RuntimeError: get_scale failed\n")
        self.assertEqual(n, 15)  # the loop finished
        rows, scale, steps = expected_rows(0, 15, infs)
        self.assertEqual((opt.steps, sc._scale), (steps, scale))  # the wrapped update still updated
        self.assertEqual(read(self.path), "\n".join(["# halftrace steps v1: torch 2.1.0", SCALER_LINE, COLUMNS] + rows[:7]) + "\n")
        self.assertFalse(log.active)
        self.assertNotIn("update", vars(sc))  # the scaler's own update is back

    def test_failing_setup_and_callbacks(self):
        import torch

        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            log = self.steps.StepsLog(self.path, object())  # no param_groups
            log.iteration(ni=0, epoch=0, i=0, accumulate=1)
            log.close()
        self.assertEqual(err.getvalue(), f"{MESSAGE}AttributeError: 'object' object has no attribute 'param_groups'\n")
        self.assertFalse(os.path.exists(self.path))

        class Model:
            callbacks = {}

            def add_callback(self, event, callback):
                self.callbacks.setdefault(event, []).append(callback)

        class Trainer:  # no train_loader: on_train_start fails
            save_dir, optimizer, epoch, accumulate = self.tmp, torch.optim.SGD(GROUPS), 0, 1

        model, trainer, err = Model(), Trainer(), io.StringIO()
        self.steps.add_ultralytics_callbacks(model)
        with contextlib.redirect_stderr(err):
            for event in ("on_train_start", "on_train_epoch_start", "on_train_batch_end", "on_train_batch_end", "on_train_epoch_end", "on_train_end"):
                for callback in model.callbacks[event]:
                    callback(trainer)
        self.assertEqual(err.getvalue(), f"{MESSAGE}AttributeError: 'Trainer' object has no attribute 'train_loader'\n")
        self.assertFalse(os.path.exists(self.path))

    def test_partial_row_cut_before_appending(self):
        rows, scale, _ = expected_rows(0, 10)
        with open(self.path, "w") as f:
            f.write("\n".join(["# halftrace steps v1: torch 2.1.0", SCALER_LINE, COLUMNS] + rows) + "\n10,2,0,2,1,0.0")  # killed mid-write
        resumed, _, _ = expected_rows(10, 15, scale=scale)
        (_, _, _, _), err = self.run_quiet(self.path, epochs=3, start_epoch=2, init_scale=scale)
        self.assertEqual(err, "")
        self.assertEqual(read(self.path), "\n".join(["# halftrace steps v1: torch 2.1.0", SCALER_LINE, COLUMNS] + rows
                                                    + ["# resumed at ni=10"] + resumed) + "\n")


class Ranks(LoggerTestCase):
    def test_only_rank_zero_writes(self):
        import torch

        for env, dist_rank, writes in [({"RANK": "1"}, None, False), ({"LOCAL_RANK": "1"}, None, False),
                                       ({"RANK": "0", "LOCAL_RANK": "1"}, None, True), ({"RANK": "-1"}, None, True),
                                       ({}, 1, False), ({}, 0, True), ({"RANK": "0"}, None, True)]:
            with self.subTest(env=env, dist_rank=dist_rank):
                if os.path.exists(self.path):
                    os.remove(self.path)
                torch.distributed.rank = dist_rank
                with mock.patch.dict(os.environ, env):
                    (_, opt, _, n), err = self.run_quiet(self.path, epochs=2, infs={3})
                self.assertEqual((err, n, opt.steps), ("", 10, 4))
                self.assertEqual(os.path.exists(self.path), writes)
                if writes:
                    self.assertEqual(read(self.path).splitlines()[3:], expected_rows(0, 10, {3})[0])
                    os.remove(self.path)
        torch.distributed.rank = None


class Buffering(LoggerTestCase):
    def test_no_reopen_per_row_and_writes_at_epoch_change_and_close(self):
        import torch

        opened = []

        def counting_open(file, *args, **kwargs):
            opened.append(os.fspath(file))
            return _real_open(file, *args, **kwargs)

        rows, _, _ = expected_rows(0, 15, {6})
        head = ["# halftrace steps v1: torch 2.1.0", SCALER_LINE, COLUMNS]
        with mock.patch("builtins.open", counting_open):
            opt = torch.optim.SGD(GROUPS)
            sc = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_interval=GROWTH_INTERVAL)
            log = self.steps.StepsLog(self.path, opt, scaler=sc)
            last, pending = -1, False
            for ni in range(15):
                epoch, i = divmod(ni, NB)
                if i == 0:
                    # an epoch's rows are on disk once the next epoch's first row is logged, not before
                    on_disk = read(self.path) if os.path.exists(self.path) else ""
                    self.assertEqual(on_disk, "\n".join(head + rows[:ni - NB]) + "\n" if ni > NB else "")
                opt.param_groups[0]["lr"] = lr(ni)
                pending = pending or ni == 6
                if ni - last >= ACCUMULATE:
                    sc.inf = pending
                    sc.step(opt)
                    sc.update()
                    pending, last = False, ni
                log.iteration(ni=ni, epoch=epoch, i=i, accumulate=ACCUMULATE)
                if i == 0 and ni:
                    self.assertEqual(read(self.path), "\n".join(head + rows[:ni]) + "\n")
            self.assertEqual(read(self.path), "\n".join(head + rows[:10]) + "\n")
            log.close()
        self.assertEqual(read(self.path), "\n".join(head + rows) + "\n")
        self.assertEqual(opened, [self.path])  # one open for 15 rows and 3 epochs

    def test_written_at_exit(self):
        code = (f"import sys; sys.path[:0] = [{self.fake!r}, {str(HERE)!r}]\n"
                f"import test_halftrace_steps as t\nt.run_loop({self.path!r}, epochs=1, close=False)\n")
        p = subprocess.run([sys.executable, "-B", "-c", code], capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        self.assertEqual(read(self.path).splitlines()[3:], expected_rows(0, 5)[0])


class KillAndResume(LoggerTestCase):
    def child(self, **kwargs):
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        code = (f"import sys; sys.path[:0] = [{self.fake!r}, {str(HERE)!r}]\n"
                f"import test_halftrace_steps as t\nt.run_loop({self.path!r}, {args}, close=False)\n")
        return [sys.executable, "-B", "-c", code]

    def test_kill_then_resume_appends_with_marker(self):
        infs = {6, 12}
        first, scale, _ = expected_rows(0, 10, infs)
        head = ["# halftrace steps v1: torch 2.1.0", SCALER_LINE, COLUMNS]
        # part 1: epochs 0-3, blocked after logging ni 10 (the first row of epoch 2: epochs 0-1 written)
        proc = subprocess.Popen(self.child(epochs=4, infs=infs, block_at=10), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not (os.path.exists(self.path) and "\n" + first[-1] + "\n" in read(self.path)):
                self.assertIsNone(proc.poll(), "the first part exited before it was killed")
                self.assertLess(time.monotonic(), deadline, "epoch 1 was not written")
                time.sleep(0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            out, err = proc.communicate(timeout=60)
        self.assertEqual((proc.returncode, err), (-signal.SIGKILL, ""))
        self.assertEqual(read(self.path), "\n".join(head + first) + "\n")  # ni 10 was in memory only
        # part 2: a new process resumes at epoch 2 (ni 10: ni does not go back) with a fresh
        # scaler at the scale it had, last_opt_step = -1, and writes its rows at exit
        p = subprocess.run(self.child(epochs=4, start_epoch=2, infs=infs, init_scale=scale), capture_output=True, text=True, timeout=60)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        second, _, _ = expected_rows(10, 20, infs, scale)
        self.assertEqual(read(self.path), "\n".join(head + first + ["# resumed at ni=10"] + second) + "\n")
        self.assertEqual(second[0][:10], "10,2,0,2,1")  # stepped at once: a fresh last_opt_step


class UltralyticsCLI(LoggerTestCase):
    def run_yolo(self, files, *args):
        """`python -m halftrace_steps` with the fake Ultralytics `files` on the path."""
        write_package(self.fake, files)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([self.fake, str(TOOLS)]))
        return subprocess.run([sys.executable, "-B", "-m", "halftrace_steps", *args], capture_output=True, text=True, timeout=60,
                              env=env, cwd=self.tmp)

    def assert_logged_two_epochs(self, files):
        project = os.path.join(self.tmp, "run")
        os.makedirs(project)
        p = self.run_yolo(files, "yolo", "train", f"project={project}", "epochs=2")
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        rows = [f"{ni},{ni // 3},{ni % 3},2,{int(ni % 2 == 1)},0.01,0.937" for ni in range(6)]
        self.assertEqual(read(os.path.join(project, "steps.csv")),
                         "\n".join(["# halftrace steps v1: ultralytics 8.4.0, torch 2.1.0",
                                    "ni,epoch,i,accumulate,optimizer_step,lr_pg0,momentum_pg0"] + rows) + "\n")

    def test_python_m_halftrace_steps_yolo_train(self):
        self.assert_logged_two_epochs(FAKE_ULTRALYTICS)
        self.assertEqual(self.run_yolo(FAKE_ULTRALYTICS, "train").returncode, 2)

    def test_ultralytics_8_0_0_single_function_callbacks(self):
        # Ultralytics 8.0.0 keeps one function per event and wraps each in a list when a trainer
        # copies them: the logger's callback must join that function, not nest a list.
        files = dict(FAKE_ULTRALYTICS)
        files["ultralytics/utils/callbacks/base.py"] = '''
            from collections import defaultdict
            def on_train_start(trainer):
                pass
            default_callbacks = {{"on_train_start": on_train_start, "on_train_batch_end": on_train_start, "on_train_end": on_train_start}}
            def get_default_callbacks():
                return defaultdict(list, {{k: [v] for k, v in default_callbacks.items()}})
            '''
        self.assert_logged_two_epochs(files)


if __name__ == "__main__":
    unittest.main()
