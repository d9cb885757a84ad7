"""Records the learning-rate (and momentum) sequences that the real PyTorch LR schedulers produce,
as the independent truth for HalfTrace's parser of scheduler constructor calls.

Each case is a constructor call written exactly as a user would write it, minus the optimizer,
e.g. `SequentialLR([LinearLR(start_factor=0.1, total_iters=5), CosineAnnealingLR(T_max=95)],
milestones=[5])`. For every case the script

  * builds torch.optim.SGD (momentum=0.9) or, when the case says so, torch.optim.Adam (default
    betas, so beta1 = 0.9), with one parameter group per entry of the case's `lr` list, each group
    holding one small tensor parameter;
  * evaluates the expression string in a namespace where every scheduler class name is bound to
    functools.partial(cls, optimizer), so the outer constructor and every nested one (inside
    SequentialLR / ChainedScheduler) receive the same optimizer as their first argument. The
    prefixed spellings `torch.optim.lr_scheduler.X` and `lr_scheduler.X` are bound the same way.
    Exception: ChainedScheduler's signature is (schedulers, optimizer=None), so it receives the
    optimizer as the keyword `optimizer=`;
  * records row 0 = every group's lr right after construction, then for k = 1..steps runs
    `optimizer.step(); scheduler.step()` and records again (so lr_rows has steps + 1 rows).
    OneCycleLR is stepped exactly total_steps - 1 times (torch raises past total_steps).

When the scheduler changes momentum (OneCycleLR / CyclicLR with cycle_momentum) the case also
has momentum_rows: each group's `momentum` (SGD) or `betas[0]` (Adam), recorded alongside lr.

Expressions torch refuses at construction are not cases; they are listed under "refused" with
torch's exception as "ExceptionType: message".

Floats are Python floats written by json.dumps (repr), so they parse back bit-exactly.

Run from the repository root with a virtual environment outside the repository that has torch
(PyTorch is never a dependency of HalfTrace; recorded with the CPU wheel torch 2.13.0+cpu):

    OMP_NUM_THREADS=1 nice -n 15 /work/venvs/torch/bin/python Tests/HalfTraceTests/Fixtures/record_torch_schedulers.py

It writes Tests/HalfTraceTests/Fixtures/torch_schedulers.json (via a temporary file and a rename),
identical on every run. That fixture is written only by this script; do not edit it by hand.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import functools
import json
import platform
import types
import warnings
from pathlib import Path

import torch
from torch.optim import lr_scheduler

OUT = Path(__file__).resolve().parent / "torch_schedulers.json"
RECORDED_BY = "Tests/HalfTraceTests/Fixtures/record_torch_schedulers.py"
MOMENTUM = 0.9  # SGD momentum; Adam keeps its default betas (0.9, 0.999)

# (expression, group lrs, optimizer, steps). steps=None: OneCycleLR -> total_steps - 1.
CASES = [
    # StepLR / MultiStepLR
    ("StepLR(step_size=3, gamma=0.1)", [0.1], "SGD", 30),
    ("StepLR(3, gamma=0.1)", [0.1], "SGD", 30),
    ("StepLR(step_size=4, gamma=0.5)", [0.1, 0.05, 0.01], "SGD", 20),
    ("MultiStepLR(milestones=[2, 5, 9], gamma=0.5)", [0.1], "SGD", 15),
    ("MultiStepLR(milestones=[3, 3, 6], gamma=0.5)", [0.1, 0.01], "SGD", 10),
    ("MultiStepLR([30, 80], 0.1)", [0.02], "SGD", 100),
    # ConstantLR / LinearLR
    ("ConstantLR(factor=0.5, total_iters=4)", [0.1], "SGD", 10),
    ("ConstantLR()", [0.1], "SGD", 10),
    ("ConstantLR(factor=0.25, total_iters=3)", [0.1, 0.01], "SGD", 8),
    ("LinearLR(start_factor=0.1, total_iters=5)", [0.1], "SGD", 12),
    ("LinearLR(0.1, 0.8, total_iters=4)", [0.1], "SGD", 10),
    ("LinearLR(start_factor=1.0, end_factor=0.0, total_iters=50)", [0.1], "SGD", 60),
    ("LinearLR()", [0.05], "SGD", 10),
    ("LinearLR(start_factor=0.01, total_iters=10)", [0.1, 0.01, 0.001], "SGD", 15),
    # ExponentialLR / PolynomialLR
    ("ExponentialLR(gamma=0.9)", [0.1], "SGD", 40),
    ("ExponentialLR(0.95)", [0.1], "SGD", 40),
    ("ExponentialLR(gamma=0.97)", [0.1, 0.01], "SGD", 30),
    ("PolynomialLR(total_iters=8, power=2.0)", [0.1], "SGD", 12),
    ("PolynomialLR(total_iters=10)", [0.1], "SGD", 14),
    ("PolynomialLR(total_iters=6, power=0.5)", [0.1, 0.02], "SGD", 9),
    # CosineAnnealingLR (recursive form, also past T_max) / CosineAnnealingWarmRestarts
    ("CosineAnnealingLR(T_max=10, eta_min=1e-5)", [0.1], "SGD", 30),
    ("CosineAnnealingLR(T_max=7)", [0.1], "SGD", 28),
    ("CosineAnnealingLR(T_max=100)", [0.01], "SGD", 100),
    ("CosineAnnealingLR(T_max=4, eta_min=0.05)", [0.1, 0.01], "SGD", 16),
    ("CosineAnnealingWarmRestarts(T_0=3, T_mult=2, eta_min=0.001)", [0.1], "SGD", 30),
    ("CosineAnnealingWarmRestarts(T_0=5)", [0.1, 0.01], "SGD", 16),
    ("CosineAnnealingWarmRestarts(4, 1, 1e-4)", [0.1], "SGD", 12),
    # SequentialLR
    ("SequentialLR([LinearLR(start_factor=0.1, total_iters=5), "
     "CosineAnnealingLR(T_max=95, eta_min=1e-5)], milestones=[5])", [0.1], "SGD", 100),
    ("SequentialLR([ConstantLR(factor=0.1, total_iters=2), ExponentialLR(gamma=0.9)], "
     "milestones=[2])", [0.1], "SGD", 20),
    ("SequentialLR([ConstantLR(factor=0.5, total_iters=3), LinearLR(start_factor=0.5, total_iters=4), "
     "ExponentialLR(gamma=0.9)], milestones=[3, 7])", [0.1], "SGD", 20),
    ("SequentialLR([LinearLR(start_factor=0.5, total_iters=4), StepLR(step_size=2)], "
     "milestones=[0])", [0.1], "SGD", 12),
    ("SequentialLR([LinearLR(start_factor=0.1, total_iters=3), ConstantLR(factor=0.5, total_iters=5)], "
     "milestones=[3])", [0.1], "SGD", 15),
    ("SequentialLR([LinearLR(start_factor=0.1, total_iters=3), ConstantLR(factor=0.5, total_iters=5)], "
     "milestones=[6])", [0.1], "SGD", 15),
    ("SequentialLR([LinearLR(start_factor=0.2, total_iters=4), StepLR(step_size=3, gamma=0.5)], "
     "milestones=[4])", [0.1, 0.01], "SGD", 15),
    ("SequentialLR(schedulers=[LinearLR(start_factor=0.1, total_iters=3), "
     "CosineAnnealingLR(T_max=10)], milestones=[3])", [0.1, 0.05, 0.01], "SGD", 20),
    ("SequentialLR([ExponentialLR(gamma=0.9), CosineAnnealingWarmRestarts(T_0=4)], "
     "milestones=[3])", [0.1], "SGD", 15),
    ("lr_scheduler.SequentialLR([lr_scheduler.LinearLR(start_factor=0.1, total_iters=3), "
     "lr_scheduler.CosineAnnealingLR(T_max=12)], milestones=[3])", [0.1], "SGD", 20),
    # ChainedScheduler
    ("ChainedScheduler([ConstantLR(factor=0.1, total_iters=2), ExponentialLR(gamma=0.9)])",
     [0.1], "SGD", 15),
    ("ChainedScheduler([LinearLR(start_factor=0.2, total_iters=4), StepLR(step_size=3, gamma=0.5)])",
     [0.1], "SGD", 15),
    ("ChainedScheduler(schedulers=[LinearLR(start_factor=0.2, total_iters=4), "
     "ExponentialLR(gamma=0.95)])", [0.1, 0.01], "SGD", 12),
    # OneCycleLR
    ("OneCycleLR(max_lr=0.1, total_steps=100)", [0.1], "SGD", None),
    ("OneCycleLR(max_lr=0.1, total_steps=60, anneal_strategy='linear')", [0.1], "SGD", None),
    ("OneCycleLR(max_lr=0.1, total_steps=60, three_phase=True)", [0.1], "SGD", None),
    ("OneCycleLR(max_lr=[0.1, 0.05], epochs=4, steps_per_epoch=10, pct_start=0.25, "
     "div_factor=10.0, final_div_factor=100.0)", [0.1, 0.05], "SGD", None),
    ("OneCycleLR(max_lr=0.01, total_steps=50)", [0.001], "Adam", None),
    ("OneCycleLR(max_lr=0.1, total_steps=30, cycle_momentum=False)", [0.1], "SGD", None),
    ("OneCycleLR(0.05, 40, base_momentum=0.8, max_momentum=0.9)", [0.1, 0.01], "SGD", None),
    # CyclicLR
    ("CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=5)", [0.1], "SGD", 40),
    ("CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=5, mode='triangular2')", [0.1], "SGD", 50),
    ("CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=5, mode='exp_range', gamma=0.9)",
     [0.1], "SGD", 40),
    ("CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=5, step_size_down=3)", [0.1], "SGD", 40),
    ("CyclicLR(base_lr=0.001, max_lr=0.1, step_size_up=5, cycle_momentum=False)", [0.1], "SGD", 30),
    ("CyclicLR(base_lr=[0.001, 0.0001], max_lr=[0.1, 0.01], step_size_up=4)",
     [0.1, 0.01], "SGD", 24),
    ("CyclicLR(base_lr=0.0001, max_lr=0.001, step_size_up=4)", [0.001], "Adam", 24),
    # prefixed spellings
    ("torch.optim.lr_scheduler.StepLR(step_size=2)", [0.1], "SGD", 10),
    ("lr_scheduler.ExponentialLR(gamma=0.5)", [0.1], "SGD", 10),
    # deliberate refusals (torch raises at construction; listed under "refused")
    ("LinearLR(start_factor=0)", [0.1], "SGD", 5),
    ("StepLR(step_size=3, gamma=0.1, foo=1)", [0.1], "SGD", 5),
    ("OneCycleLR(max_lr=0.1)", [0.1], "SGD", None),
    ("CosineAnnealingWarmRestarts(T_0=0)", [0.1], "SGD", 5),
    ("ExponentialLR()", [0.1], "SGD", 5),
    ("ConstantLR(factor=1.5)", [0.1], "SGD", 5),
    ("MultiStepLR(milestones=[2, 5], gamma=0.5, verbose=True)", [0.1], "SGD", 5),
    ("OneCycleLR(max_lr=0.1, total_steps=10, anneal_strategy='quad')", [0.1], "SGD", None),
    ("CyclicLR(base_lr=0.001, max_lr=0.1, mode='foo')", [0.1], "SGD", 5),
    ("SequentialLR([LinearLR(total_iters=3), ExponentialLR(gamma=0.9)], milestones=[3, 6])",
     [0.1], "SGD", 5),
    ("OneCycleLR(max_lr=[0.1, 0.05], total_steps=10)", [0.1], "SGD", None),
]

# Ramps of no steps (total_iters=0): torch's chainable form never divides by total_iters and keeps
# the lr it starts with; its closed form (used when SequentialLR steps a scheduler to an epoch at a
# milestone) divides by zero. Recorded under "degenerate": the lr rows, or the exception raised
# while stepping ("raised_at": the step, "error": the exception).
DEGENERATE = [
    ("LinearLR(total_iters=0)", [0.1], "SGD", 4),
    ("LinearLR(start_factor=0.5, end_factor=0.25, total_iters=0)", [0.1, 0.01], "SGD", 4),
    ("PolynomialLR(total_iters=0)", [0.1], "SGD", 4),
    ("PolynomialLR(total_iters=0, power=2.0)", [0.1], "SGD", 4),
    ("SequentialLR([LinearLR(total_iters=0), StepLR(step_size=2)], milestones=[2])", [0.1], "SGD", 6),
    ("SequentialLR([StepLR(step_size=2), LinearLR(total_iters=0)], milestones=[2])", [0.1], "SGD", 6),
    ("SequentialLR([StepLR(step_size=2), PolynomialLR(total_iters=0)], milestones=[3])", [0.1], "SGD", 6),
]


def record_degenerate(expr, lrs, kind, steps):
    optimizer = make_optimizer(kind, lrs)
    scheduler = eval(expr, scheduler_namespace(optimizer))
    lr_rows = [snapshot(optimizer, kind)[0]]
    for k in range(1, steps + 1):
        optimizer.step()
        try:
            scheduler.step()
        except Exception as e:
            return {"expr": expr, "lr": lrs, "lr_rows": lr_rows, "raised_at": k, "error": f"{type(e).__name__}: {e}"}
        lr_rows.append(snapshot(optimizer, kind)[0])
    return {"expr": expr, "lr": lrs, "lr_rows": lr_rows}


def make_optimizer(kind, lrs):
    groups = [{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs]
    if kind == "SGD":
        return torch.optim.SGD(groups, momentum=MOMENTUM)
    if kind == "Adam":
        return torch.optim.Adam(groups)
    raise ValueError(kind)


def scheduler_namespace(optimizer):
    """Names an expression may use, each scheduler class pre-bound to `optimizer`."""
    bound = {}
    for name in dir(lr_scheduler):
        cls = getattr(lr_scheduler, name)
        if name.startswith("_") or not isinstance(cls, type):
            continue
        if not issubclass(cls, lr_scheduler.LRScheduler):
            continue
        if cls is lr_scheduler.ChainedScheduler:  # (schedulers, optimizer=None)
            bound[name] = functools.partial(cls, optimizer=optimizer)
        else:
            bound[name] = functools.partial(cls, optimizer)
    module = types.SimpleNamespace(**bound)
    torch_ns = types.SimpleNamespace(optim=types.SimpleNamespace(lr_scheduler=module))
    return {"__builtins__": {}, **bound, "lr_scheduler": module, "torch": torch_ns}


def as_float(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a Python float, got {type(value).__name__}: {value!r}")
    return float(value)


def snapshot(optimizer, kind):
    lrs = [as_float(g["lr"]) for g in optimizer.param_groups]
    if kind == "SGD":
        moms = [as_float(g["momentum"]) for g in optimizer.param_groups]
    else:
        moms = [as_float(g["betas"][0]) for g in optimizer.param_groups]
    return lrs, moms


def changes_momentum(scheduler):
    inner = getattr(scheduler, "_schedulers", None)
    if inner is not None:
        return any(changes_momentum(s) for s in inner)
    return bool(getattr(scheduler, "cycle_momentum", False))


def record(expr, lrs, kind, steps):
    """(case, None), or (None, refused entry) if torch raises while constructing the scheduler."""
    optimizer = make_optimizer(kind, lrs)
    try:
        scheduler = eval(expr, scheduler_namespace(optimizer))
    except Exception as e:
        return None, {"expr": expr, "error": f"{type(e).__name__}: {e}"}
    if isinstance(scheduler, lr_scheduler.OneCycleLR):
        assert steps is None, expr
        steps = scheduler.total_steps - 1
    lr_rows, momentum_rows = [], []
    for k in range(steps + 1):
        if k > 0:
            optimizer.step()
            scheduler.step()
        row_lr, row_mom = snapshot(optimizer, kind)
        lr_rows.append(row_lr)
        momentum_rows.append(row_mom)
    case = {"expr": expr, "optimizer": kind, "lr": lrs, "steps": steps, "lr_rows": lr_rows}
    if changes_momentum(scheduler):
        case["momentum_rows"] = momentum_rows
    else:
        assert all(m == MOMENTUM for row in momentum_rows for m in row), expr
    return case, None


def to_json(value, indent=0):
    """json.dumps, but lists of numbers stay on one line."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k)}: {to_json(v, indent + 1)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, (list, dict)) for v in value):
        items = [inner + to_json(v, indent + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + pad + "]"
    return json.dumps(value, allow_nan=False)


def main():
    warnings.simplefilter("ignore")
    torch.set_num_threads(1)
    cases, refused = [], []
    for expr, lrs, kind, steps in CASES:
        case, refusal = record(expr, lrs, kind, steps)
        if case is not None:
            cases.append(case)
        else:
            refused.append(refusal)
    fixture = {
        "recorded_by": RECORDED_BY,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cases": cases,
        "refused": refused,
        "degenerate": [record_degenerate(*d) for d in DEGENERATE],
    }
    tmp = OUT.with_name(OUT.name + ".tmp")
    tmp.write_text(to_json(fixture) + "\n")
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: {len(cases)} cases, {len(refused)} refused")
    for r in refused:
        print(f"  refused {r['expr']}\n      -> {r['error']}")


if __name__ == "__main__":
    main()
