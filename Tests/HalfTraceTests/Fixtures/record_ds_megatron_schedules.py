"""Records ds_megatron_schedules.json: learning-rate (and momentum / weight-decay) sequences from the
REAL DeepSpeed and Megatron-core scheduler classes, so that HalfTrace can reproduce them from the
constructor a user wrote. Neither package is a dependency of HalfTrace; ds_megatron_schedules.json is
written only by this script.

Setup (a virtual environment outside the repository, CPU only):

    python3.11 -m venv /work/venvs/families
    /work/venvs/families/bin/pip install --no-deps /opt/wheels/torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl
    /work/venvs/families/bin/pip install filelock fsspec jinja2 networkx sympy typing_extensions numpy 'setuptools>=77.0.3'
    DS_BUILD_OPS=0 /work/venvs/families/bin/pip install deepspeed==0.19.8   # pulls hjson py-cpuinfo pydantic psutil ...
    /work/venvs/families/bin/pip install megatron-core==0.16.1

Run (a few seconds):

    OMP_NUM_THREADS=1 nice -n 15 /work/venvs/families/bin/python \\
        Tests/HalfTraceTests/Fixtures/record_ds_megatron_schedules.py [out_dir]

out_dir defaults to this script's directory. The JSON is written to a temporary file in out_dir and
then renamed over ds_megatron_schedules.json. Floats are plain JSON numbers as json.dumps writes them
(Python's shortest round-trip repr), so they parse back to the same doubles.

What runs:
- deepspeed.runtime.lr_schedules (WarmupLR, WarmupDecayLR, WarmupCosineLR, OneCycle, LRRangeTest):
  a real torch.optim.SGD (momentum 0.9) or Adam with 1-3 parameter groups at the recorded lrs. The
  recorded `constructor` string is evaluated with the optimizer inserted as the first argument
  ("WarmupLR(warmup_num_steps=10)" runs WarmupLR(optimizer, warmup_num_steps=10)). Row 0 is read right
  after construction; then for k = 1..steps: loss.backward(); optimizer.step(); optimizer.zero_grad();
  scheduler.step(); read row k (the order DeepSpeedEngine._take_model_step uses). Per group the row
  holds lr and, for SGD, `momentum`, for Adam, `betas` ([beta1, beta2]).
  `ds_config` is the equivalent ds_config.json "scheduler" block {"type": ..., "params": {...}} (the
  constructor's keywords). It is checked here: after a JSON round trip it is handed to the unbound
  DeepSpeedEngine._scheduler_from_config (the engine's own code, on a minimal `self` whose
  scheduler_name()/scheduler_params() are deepspeed.runtime.config.get_scheduler_name/params of
  {"scheduler": block}) with a second identical optimizer, which is stepped in lock-step and must give
  exactly the same rows.
- megatron.core.optimizer_param_scheduler.OptimizerParamScheduler: a real torch.optim.SGD (momentum 0.9)
  or AdamW whose param-group dicts may carry Megatron's per-group keys (max_lr, min_lr, start_wd,
  end_wd, wd_mult), which the scheduler reads with param_group.get(...). The recorded `constructor`
  keyword string is evaluated as OptimizerParamScheduler(optimizer, <keywords>). Row 0 is read right
  after construction (the constructor calls step(0)); then for k = 1..steps: optimizer step;
  scheduler.step(increment=<increment>); read row k. `increment` is 1 except for cases that mimic
  Megatron-LM's sample-based counting (steps in samples, increment = global batch size).
  Per group the row holds lr and weight_decay.
- refusals: constructions (or steps) that each package rejects, with the exception type and message
  (str(exc); Megatron's bare asserts have an empty message). `raised_at` is "construction" or the
  1-based step k at which scheduler.step() raised.
"""
import ast, json, logging, math, os, sys, tempfile, types, warnings
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import torch

torch.set_num_threads(1)
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent

import deepspeed.runtime.lr_schedules as ds_sched
from deepspeed.runtime.config import get_scheduler_name, get_scheduler_params
from deepspeed.runtime.engine import DeepSpeedEngine
from deepspeed.utils import logger as ds_logger
from megatron.core.optimizer_param_scheduler import OptimizerParamScheduler

ds_logger.setLevel(logging.ERROR)
logging.getLogger("megatron").setLevel(logging.ERROR)


# ---------------------------------------------------------------- optimizers
def make_optimizer(spec):
    """spec: {"type": "SGD"|"Adam"|"AdamW", "groups": [{"lr": .., <extra keys>}], ...}."""
    torch.manual_seed(0)
    groups = []
    for i, g in enumerate(spec["groups"]):
        p = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 3) * (i + 1))
        groups.append({"params": [p], **g})
    kind = spec["type"]
    if kind == "SGD":
        opt = torch.optim.SGD(groups, lr=spec["groups"][0]["lr"], momentum=spec.get("momentum", 0.9))
    elif kind == "Adam":
        opt = torch.optim.Adam(groups, lr=spec["groups"][0]["lr"])
    elif kind == "AdamW":
        opt = torch.optim.AdamW(groups, lr=spec["groups"][0]["lr"], weight_decay=spec.get("weight_decay", 0.0))
    else:
        raise ValueError(kind)
    return opt


def train_step(opt):
    loss = sum(((p - 0.5) ** 2).sum() for g in opt.param_groups for p in g["params"])
    loss.backward()
    opt.step()
    opt.zero_grad()


def ctor_call(ctor, namespace, opt):
    """Evaluate "Name(kw=..)" as Name(opt, kw=..)."""
    name, rest = ctor.split("(", 1)
    ns = dict(namespace)
    ns["__opt__"] = opt
    return eval(f"{name}(__opt__, {rest}", ns)


def ctor_keywords(ctor):
    call = ast.parse(ctor, mode="eval").body
    assert isinstance(call, ast.Call) and not call.args, ctor
    return call.func.id, {k.arg: ast.literal_eval(k.value) for k in call.keywords}


def fl(v):
    return float(v)


# ---------------------------------------------------------------- DeepSpeed
DS_NS = {n: getattr(ds_sched, n) for n in ds_sched.VALID_LR_SCHEDULES}


def ds_row(opt):
    row = {"lr": [fl(g["lr"]) for g in opt.param_groups]}
    if isinstance(opt, torch.optim.SGD):
        row["momentum"] = [fl(g["momentum"]) for g in opt.param_groups]
    else:
        row["betas"] = [[fl(b) for b in g["betas"]] for g in opt.param_groups]
    return row


def ds_from_config(block, opt):
    param_dict = json.loads(json.dumps({"scheduler": block}))
    fake = types.SimpleNamespace(scheduler_name=lambda: get_scheduler_name(param_dict),
                                 scheduler_params=lambda: get_scheduler_params(param_dict))
    return DeepSpeedEngine._scheduler_from_config(fake, opt)


def run_ds(case):
    opt = make_optimizer(case["optimizer"])
    sched = ctor_call(case["constructor"], DS_NS, opt)
    name, kw = ctor_keywords(case["constructor"])
    block = {"type": name, "params": kw}
    opt2 = make_optimizer(case["optimizer"])
    sched2 = ds_from_config(block, opt2)
    assert type(sched2) is type(sched)
    rows = [ds_row(opt)]
    assert ds_row(opt2) == rows[0]
    for _ in range(case["steps"]):
        train_step(opt)
        sched.step()
        train_step(opt2)
        sched2.step()
        rows.append(ds_row(opt))
        assert ds_row(opt2) == rows[-1], case["name"]
    out = dict(case)
    out["ds_config"] = {"scheduler": block}
    for key in rows[0]:
        out[key] = [r[key] for r in rows]
    return out


def sgd(*lrs, momentum=0.9):
    return {"type": "SGD", "momentum": momentum, "groups": [{"lr": lr} for lr in lrs]}


def adam(*lrs):
    return {"type": "Adam", "groups": [{"lr": lr} for lr in lrs]}


DS_CASES = [
    # ---- WarmupLR
    ("warmup_log_1g", sgd(0.01), 14,
     "WarmupLR(warmup_min_lr=0.0, warmup_max_lr=0.001, warmup_num_steps=10, warmup_type='log')"),
    ("warmup_linear_1g", sgd(0.01), 14,
     "WarmupLR(warmup_min_lr=0.0, warmup_max_lr=0.001, warmup_num_steps=10, warmup_type='linear')"),
    ("warmup_linear_lists_2g_adam", adam(0.01, 0.005), 11,
     "WarmupLR(warmup_min_lr=[0.0001, 0.0], warmup_max_lr=[0.01, 0.005], warmup_num_steps=8, warmup_type='linear')"),
    ("warmup_log_scalar_min_default_max_2g", sgd(0.1, 0.02), 9,
     "WarmupLR(warmup_min_lr=1e-05, warmup_num_steps=6, warmup_type='log')"),
    ("warmup_log_list_min_3g", sgd(0.3, 0.2, 0.1), 10,
     "WarmupLR(warmup_min_lr=[0.001, 0.002, 0.003], warmup_max_lr=0.05, warmup_num_steps=7)"),
    ("warmup_one_step_clamped_to_two", sgd(0.1), 5,
     "WarmupLR(warmup_min_lr=0.001, warmup_max_lr=0.1, warmup_num_steps=1, warmup_type='linear')"),
    ("warmup_unknown_type_falls_back_to_log", sgd(0.1), 8,
     "WarmupLR(warmup_min_lr=0.0, warmup_max_lr=0.01, warmup_num_steps=5, warmup_type='exp')"),
    # ---- WarmupDecayLR
    ("warmupdecay_log", sgd(0.01), 24,
     "WarmupDecayLR(total_num_steps=20, warmup_min_lr=0.0, warmup_max_lr=0.001, warmup_num_steps=5, warmup_type='log')"),
    ("warmupdecay_linear_lists_2g", sgd(0.01, 0.001), 24,
     "WarmupDecayLR(total_num_steps=20, warmup_min_lr=[0.0001, 1e-05], warmup_max_lr=[0.01, 0.001], warmup_num_steps=5, warmup_type='linear')"),
    ("warmupdecay_default_max_lr_ignores_group_lr", sgd(0.1), 13,
     "WarmupDecayLR(total_num_steps=10, warmup_num_steps=3)"),
    ("warmupdecay_total_below_warmup", sgd(0.01), 9,
     "WarmupDecayLR(total_num_steps=4, warmup_max_lr=0.01, warmup_num_steps=6, warmup_type='linear')"),
    ("warmupdecay_log_min_lr_adam", adam(0.002), 17,
     "WarmupDecayLR(total_num_steps=15, warmup_min_lr=0.0002, warmup_max_lr=0.002, warmup_num_steps=4, warmup_type='log')"),
    # ---- WarmupCosineLR
    ("warmupcosine_log_default", sgd(0.1), 104,
     "WarmupCosineLR(total_num_steps=100, warmup_num_steps=10, warmup_min_ratio=0.0, cos_min_ratio=0.0001)"),
    ("warmupcosine_linear_2g", sgd(0.1, 0.01), 34,
     "WarmupCosineLR(total_num_steps=30, warmup_num_steps=5, warmup_min_ratio=0.1, cos_min_ratio=0.05, warmup_type='linear')"),
    ("warmupcosine_log_3g_adam", adam(0.003, 0.002, 0.001), 23,
     "WarmupCosineLR(total_num_steps=20, warmup_num_steps=4, warmup_min_ratio=0.01, cos_min_ratio=0.01, warmup_type='log')"),
    ("warmupcosine_total_below_warmup", sgd(0.05), 12,
     "WarmupCosineLR(total_num_steps=6, warmup_num_steps=8, warmup_type='linear')"),
    ("warmupcosine_one_step_clamped_to_two", sgd(0.2), 15,
     "WarmupCosineLR(total_num_steps=12, warmup_num_steps=1, cos_min_ratio=0.0, warmup_type='linear')"),
    # ---- OneCycle
    ("onecycle_sgd_momentum_not_cycled", sgd(0.5), 14,
     "OneCycle(cycle_min_lr=0.001, cycle_max_lr=0.01, cycle_first_step_size=5)"),
    ("onecycle_adam_asym_decay_mom", adam(0.5), 22,
     "OneCycle(cycle_min_lr=0.001, cycle_max_lr=0.01, decay_lr_rate=0.5, cycle_first_step_size=4, cycle_second_step_size=6, decay_step_size=2, cycle_momentum=True, cycle_min_mom=0.85, cycle_max_mom=0.95, decay_mom_rate=0.01)"),
    ("onecycle_stairs_lists_2g", sgd(0.5, 0.5), 20,
     "OneCycle(cycle_min_lr=[0.001, 0.002], cycle_max_lr=[0.01, 0.02], decay_lr_rate=0.1, cycle_first_step_size=6, cycle_first_stair_count=3, decay_step_size=3, cycle_momentum=False)"),
    ("onecycle_asym_stairs_adam_2g", adam(0.5, 0.5), 20,
     "OneCycle(cycle_min_lr=0.0001, cycle_max_lr=0.001, decay_lr_rate=0.2, cycle_first_step_size=8, cycle_second_step_size=4, cycle_first_stair_count=4, cycle_second_stair_count=2, decay_step_size=5, cycle_momentum=True, cycle_min_mom=[0.8, 0.85], cycle_max_mom=[0.9, 0.95], decay_mom_rate=0.0)"),
    ("onecycle_zero_second_half", sgd(0.5), 10,
     "OneCycle(cycle_min_lr=0.01, cycle_max_lr=0.1, decay_lr_rate=0.5, cycle_first_step_size=5, cycle_second_step_size=0, decay_step_size=1, cycle_momentum=False)"),
    ("onecycle_decay_step_size_zero_skips_decay", adam(0.5), 12,
     "OneCycle(cycle_min_lr=0.001, cycle_max_lr=0.004, decay_lr_rate=0.5, cycle_first_step_size=3, decay_step_size=0, cycle_min_mom=0.85, cycle_max_mom=0.95, decay_mom_rate=0.1)"),
    # ---- LRRangeTest
    ("lrrt_continuous", sgd(0.5), 12,
     "LRRangeTest(lr_range_test_min_lr=0.0001, lr_range_test_step_size=5, lr_range_test_step_rate=1.0, lr_range_test_staircase=False)"),
    ("lrrt_staircase_2g", sgd(0.5, 0.5), 12,
     "LRRangeTest(lr_range_test_min_lr=[0.001, 0.0005], lr_range_test_step_size=3, lr_range_test_step_rate=2.0, lr_range_test_staircase=True)"),
    ("lrrt_staircase_adam_rate_half", adam(0.5), 10,
     "LRRangeTest(lr_range_test_min_lr=0.01, lr_range_test_step_size=4, lr_range_test_step_rate=0.5, lr_range_test_staircase=True)"),
    ("lrrt_defaults", sgd(0.5), 6, "LRRangeTest()"),
]


# ---------------------------------------------------------------- Megatron
MG_NS = {"OptimizerParamScheduler": OptimizerParamScheduler}


def mg_row(opt):
    return {"lr": [fl(g["lr"]) for g in opt.param_groups],
            "weight_decay": [fl(g["weight_decay"]) for g in opt.param_groups]}


def run_mg(case):
    opt = make_optimizer(case["optimizer"])
    sched = ctor_call(case["constructor"], MG_NS, opt)
    rows = [mg_row(opt)]
    for _ in range(case["steps"]):
        train_step(opt)
        sched.step(increment=case["increment"])
        rows.append(mg_row(opt))
    out = dict(case)
    out["num_steps_final"] = sched.num_steps
    for key in rows[0]:
        out[key] = [r[key] for r in rows]
    return out


def msgd(*groups):
    return {"type": "SGD", "momentum": 0.9, "groups": [g if isinstance(g, dict) else {"lr": g} for g in groups]}


def madamw(*groups):
    return {"type": "AdamW", "weight_decay": 0.0,
            "groups": [g if isinstance(g, dict) else {"lr": g} for g in groups]}


def OPS(**kw):
    order = ["init_lr", "max_lr", "min_lr", "lr_warmup_steps", "lr_decay_steps", "lr_decay_style", "start_wd",
             "end_wd", "wd_incr_steps", "wd_incr_style", "wsd_decay_steps", "lr_wsd_decay_style"]
    assert set(kw) <= set(order)
    return "OptimizerParamScheduler(" + ", ".join(f"{k}={kw[k]!r}" for k in order if k in kw) + ")"


BASE = dict(init_lr=0.0, max_lr=0.001, min_lr=1e-05, lr_warmup_steps=5, lr_decay_steps=20,
            start_wd=0.1, end_wd=0.1, wd_incr_steps=20, wd_incr_style='constant')


def B(**kw):
    d = dict(BASE)
    d.update(kw)
    return OPS(**d)


MG_CASES = [
    ("linear", msgd(0.5), 24, 1, B(lr_decay_style='linear')),
    ("cosine", msgd(0.5), 24, 1, B(lr_decay_style='cosine')),
    ("constant", msgd(0.5), 24, 1, B(lr_decay_style='constant')),
    ("inverse_sqrt", msgd(0.5), 34, 1, B(lr_warmup_steps=4, lr_decay_steps=30, min_lr=0.0001,
                                         lr_decay_style='inverse-square-root')),
    ("inverse_sqrt_no_warmup", msgd(0.5), 12, 1, B(lr_warmup_steps=0, lr_decay_steps=10, min_lr=0.0,
                                                   lr_decay_style='inverse-square-root')),
    ("cosine_no_warmup", msgd(0.5), 13, 1, B(lr_warmup_steps=0, lr_decay_steps=10, lr_decay_style='cosine')),
    ("wsd_linear", msgd(0.5), 24, 1, B(lr_warmup_steps=4, lr_decay_style='WSD', wsd_decay_steps=6,
                                       lr_wsd_decay_style='linear')),
    ("wsd_cosine", msgd(0.5), 24, 1, B(lr_warmup_steps=4, lr_decay_style='WSD', wsd_decay_steps=6,
                                       lr_wsd_decay_style='cosine')),
    ("wsd_exponential", msgd(0.5), 24, 1, B(lr_warmup_steps=4, lr_decay_style='WSD', wsd_decay_steps=6,
                                            lr_wsd_decay_style='exponential')),
    ("wsd_minus_sqrt", msgd(0.5), 24, 1, B(lr_warmup_steps=4, lr_decay_style='WSD', wsd_decay_steps=6,
                                           lr_wsd_decay_style='minus_sqrt')),
    ("wsd_anneal_starts_inside_warmup", msgd(0.5), 13, 1, B(lr_warmup_steps=4, lr_decay_steps=10,
                                                            lr_decay_style='WSD', wsd_decay_steps=8,
                                                            lr_wsd_decay_style='linear')),
    ("wsd_whole_decay_window", msgd(0.5), 13, 1, B(lr_warmup_steps=0, lr_decay_steps=10, min_lr=0.0,
                                                   lr_decay_style='WSD', wsd_decay_steps=10,
                                                   lr_wsd_decay_style='cosine')),
    ("wd_linear", msgd(0.5), 14, 1, B(lr_warmup_steps=2, lr_decay_steps=10, lr_decay_style='linear',
                                      start_wd=0.0, end_wd=0.1, wd_incr_steps=10, wd_incr_style='linear')),
    ("wd_cosine", msgd(0.5), 14, 1, B(lr_warmup_steps=2, lr_decay_steps=10, lr_decay_style='cosine',
                                      start_wd=0.01, end_wd=0.1, wd_incr_steps=12, wd_incr_style='cosine')),
    ("group_overrides_2g", msgd({"lr": 0.5, "max_lr": 0.002, "min_lr": 0.0002, "wd_mult": 0.0},
                                {"lr": 0.5}), 18, 1,
     B(lr_warmup_steps=3, lr_decay_steps=15, lr_decay_style='cosine', start_wd=0.0, end_wd=0.05,
       wd_incr_steps=15, wd_incr_style='linear')),
    ("group_overrides_3g_wd_bounds_adamw", madamw({"lr": 0.5, "start_wd": 0.0, "end_wd": 0.2},
                                                  {"lr": 0.5, "wd_mult": 0.5, "min_lr": 0.0},
                                                  {"lr": 0.5, "max_lr": 0.0005}), 14, 1,
     B(lr_warmup_steps=2, lr_decay_steps=12, lr_decay_style='linear', start_wd=0.01, end_wd=0.1,
       wd_incr_steps=10, wd_incr_style='cosine')),
    ("init_lr_nonzero_group_max", msgd({"lr": 0.5, "max_lr": 0.004}, {"lr": 0.5}), 14, 1,
     B(init_lr=0.0001, lr_warmup_steps=3, lr_decay_steps=12, lr_decay_style='linear')),
    ("fractional_warmup_steps", msgd(0.5), 54, 1,
     B(lr_warmup_steps=0.07 * 50, lr_decay_steps=50, lr_decay_style='cosine')),
    ("samples_increment_8", msgd(0.5), 24, 8,
     B(lr_warmup_steps=0.1 * 160, lr_decay_steps=160, lr_decay_style='cosine', start_wd=0.0, end_wd=0.1,
       wd_incr_steps=160, wd_incr_style='linear')),
    ("samples_increment_8_wsd", msgd(0.5), 22, 8,
     B(lr_warmup_steps=16, lr_decay_steps=160, lr_decay_style='WSD', wsd_decay_steps=48,
       lr_wsd_decay_style='minus_sqrt')),
    ("tiny_warmup1_decay2", msgd(0.5), 4, 1, B(lr_warmup_steps=1, lr_decay_steps=2, lr_decay_style='linear')),
    ("wd_incr_steps_zero_constant", msgd(0.5), 4, 1,
     B(lr_warmup_steps=1, lr_decay_steps=3, lr_decay_style='linear', start_wd=0.05, end_wd=0.05,
       wd_incr_steps=0, wd_incr_style='constant')),
]


# ---------------------------------------------------------------- refusals
def refusal(package, optimizer, ctor, ns, steps=0, increment=None):
    opt = make_optimizer(optimizer)
    rec = {"package": package, "optimizer": optimizer, "constructor": ctor}
    if increment is not None:
        rec["increment"] = increment
    try:
        sched = ctor_call(ctor, ns, opt)
    except Exception as e:
        rec.update(raised_at="construction", exception_type=type(e).__name__, message=str(e))
        return rec
    for k in range(1, steps + 1):
        try:
            sched.step(increment=increment) if increment is not None else sched.step()
        except Exception as e:
            rec.update(raised_at=k, exception_type=type(e).__name__, message=str(e))
            return rec
    raise AssertionError(f"not refused: {ctor}")


def refusals():
    out = []
    d = lambda opt, c: out.append(refusal("deepspeed", opt, c, DS_NS))
    d(sgd(0.1), "WarmupLR(warmup_max_lr=0.01, warmup_num_steps=0)")
    d(sgd(0.1), "WarmupLR(warmup_max_lr=0.01, warmup_num_steps=10.0)")
    d(sgd(0.1, 0.1), "WarmupLR(warmup_min_lr=[0.0, 0.0, 0.0], warmup_max_lr=0.01, warmup_num_steps=5)")
    d(sgd(0.1), "WarmupDecayLR(warmup_max_lr=0.01, warmup_num_steps=5)")
    d(sgd(0.1), "WarmupCosineLR(total_num_steps=10, warmup_min_lr=0.0, warmup_num_steps=5)")
    d(sgd(0.1), "WarmupCosineLR(total_num_steps=10, warmup_num_steps=0)")
    d(sgd(0.1), "OneCycle(cycle_min_lr=0.001)")
    d(sgd(0.1), "OneCycle(cycle_min_lr=0.001, cycle_max_lr=0.01, cycle_first_step_size=0)")
    d(sgd(0.1), "OneCycle(cycle_min_lr=0.001, cycle_max_lr=0.01, cycle_second_step_size=-1)")
    d(sgd(0.1, 0.1), "OneCycle(cycle_min_lr=0.001, cycle_max_lr=[0.01])")
    d(sgd(0.1), "LRRangeTest(lr_range_test_step_size=0)")
    d(sgd(0.1, 0.1), "LRRangeTest(lr_range_test_min_lr=[0.001])")
    m = lambda c, steps=0, opt=None: out.append(refusal("megatron-core", opt or msgd(0.5), c, MG_NS, steps, 1))
    m(B(lr_warmup_steps=20, lr_decay_style='linear'))
    m(B(lr_decay_steps=0, lr_warmup_steps=0, lr_decay_style='linear'))
    m(B(min_lr=0.01, lr_decay_style='linear'))
    m(B(init_lr=0.01, lr_decay_style='linear'))
    m(B(min_lr=-1e-05, lr_decay_style='linear'))
    m(B(lr_decay_style='WSD'))
    m(B(lr_decay_style='linear', start_wd=0.1, end_wd=0.01, wd_incr_style='linear'))
    m(B(lr_decay_style='linear', start_wd=-0.1, end_wd=0.1, wd_incr_style='linear'))
    m(B(lr_decay_style='linear', start_wd=0.0, end_wd=0.1, wd_incr_style='constant'))
    m(B(lr_decay_style='linear', start_wd=0.0, end_wd=0.1, wd_incr_style='exponential'))
    m(B(lr_decay_style='linear', start_wd=0.0, end_wd=0.1, wd_incr_steps=0, wd_incr_style='linear'))
    m(B(lr_warmup_steps=0, lr_decay_style='step'))
    m(B(lr_warmup_steps=3, lr_decay_style='step'), steps=10)
    m(B(lr_warmup_steps=4, lr_decay_style='WSD', wsd_decay_steps=6), steps=30)
    m(B(lr_warmup_steps=4, lr_decay_style='WSD', wsd_decay_steps=6, lr_wsd_decay_style='exp'), steps=30)
    m("OptimizerParamScheduler(init_lr=0.0, max_lr=0.001, min_lr=0.0, lr_warmup_steps=1, lr_decay_steps=10)")
    m(B(lr_decay_style='linear', start_wd=0.01, end_wd=0.01), steps=3,
      opt=msgd({"lr": 0.5, "start_wd": 0.0, "end_wd": 0.2}))
    return out


# ---------------------------------------------------------------- main
def case_dict(name, optimizer, steps, ctor, increment=None):
    c = {"name": name, "optimizer": optimizer, "constructor": ctor, "steps": steps}
    if increment is not None:
        c["increment"] = increment
    return c


def main():
    ds = [run_ds(case_dict(n, o, s, c)) for n, o, s, c in DS_CASES]
    mg = [run_mg(case_dict(n, o, s, c, inc)) for n, o, s, inc, c in MG_CASES]
    names = [c["name"] for c in ds + mg]
    assert len(names) == len(set(names))
    doc = {
        "generator": "record_ds_megatron_schedules.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "deepspeed": version("deepspeed"), "megatron-core": version("megatron-core")},
        "deepspeed": {
            "module": "deepspeed.runtime.lr_schedules",
            "loop": "row 0 after construction; for k in 1..steps: optimizer.step(); scheduler.step(); row k",
            "cases": ds,
        },
        "megatron": {
            "module": "megatron.core.optimizer_param_scheduler.OptimizerParamScheduler",
            "loop": "row 0 after construction (constructor calls step(0)); for k in 1..steps: "
                    "optimizer.step(); scheduler.step(increment=increment); row k",
            "optimizer_note": "a real torch.optim.SGD/AdamW; extra keys in a group dict (max_lr, min_lr, "
                              "start_wd, end_wd, wd_mult) are Megatron's per-group overrides",
            "cases": mg,
        },
        "refusals": refusals(),
    }
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".ds_megatron_schedules.", suffix=".json.tmp", dir=OUT)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT / "ds_megatron_schedules.json")
    print(f"deepspeed cases {len(ds)}, megatron cases {len(mg)}, refusals {len(doc['refusals'])}")


if __name__ == "__main__":
    main()
