"""Records timm_transformers_schedules.json: learning-rate sequences from the REAL timm and transformers
scheduler code, so that HalfTrace can reproduce them from the constructor call a user wrote. Neither
package is a dependency of HalfTrace; timm_transformers_schedules.json is written only by this script
(do not edit it by hand).

Setup (the virtual environment of record_ds_megatron_schedules.py, CPU only, no torchvision, no CUDA
package; recorded with timm 1.0.31 and transformers 5.25.0):

    /work/venvs/families/bin/pip install --no-deps timm==1.0.31 transformers==5.25.0
    /work/venvs/families/bin/pip install --no-deps regex huggingface_hub safetensors pyyaml
    /work/venvs/families/bin/pip install httpx2      # huggingface_hub's HTTP client (pulls anyio h11 httpcore2 idna truststore)

(torch 2.13.0+cpu, numpy, packaging, tqdm, filelock, fsspec are already in that venv. `pip check` then
still lists torchvision for timm, tokenizers/kernels/typer for transformers and click/hf-xet for
huggingface_hub: none of them is needed by timm.scheduler or transformers.optimization.)

Run from the repository root (a few seconds):

    OMP_NUM_THREADS=1 nice -n 15 /work/venvs/families/bin/python \\
        Tests/HalfTraceTests/Fixtures/record_timm_transformers_schedules.py [out_dir]

out_dir defaults to this script's directory. The JSON is written to a temporary file in out_dir and
then renamed over timm_transformers_schedules.json. Floats are plain JSON numbers as json.dumps writes
them (Python's shortest round-trip repr), so they parse back to the same doubles. Two runs give the
same file.

What runs:
- timm.scheduler (StepLRScheduler, MultiStepLRScheduler, PolyLRScheduler, TanhLRScheduler,
  CosineLRScheduler, and WSDLRScheduler, which timm 1.0.31 also has; PlateauLRScheduler is left out as it
  needs a metric). timm/__init__.py imports torchvision (timm.layers), which is not installed, so the
  unmodified timm/scheduler/*.py modules are imported below a bare `timm` parent package
  (load_timm_scheduler). A real torch.optim.SGD (momentum 0.9) with one parameter group per entry of
  the case's `groups` (each group dict is passed as is, so a group may carry timm's `lr_scale` key).
  The recorded `constructor` string is evaluated with the optimizer inserted as the first argument
  ("CosineLRScheduler(t_initial=10)" runs CosineLRScheduler(optimizer, t_initial=10)).
  Row 0 is every group's lr right after construction; then for each argument a in `step_args`
  (1, 2, ..., steps): optimizer step; then `scheduler.step(a)` when `step_method` is "step" (what
  timm's train.py calls at the end of each epoch, with epoch + 1) or `scheduler.step_update(a)` when
  it is "step_update" (what train.py calls after each optimizer update, with the update count
  num_updates). The method normally matches t_in_epochs (True: "step", False: "step_update"); one
  case calls the other one to show it is a no-op. `cycle_length` is scheduler.get_cycle_length()
  (None for Step/MultiStep, which have none); train.py trains for that many epochs (+ cooldown).
  Noise: the base Scheduler adds noise when noise_range_t is set (noise_pct, noise_std, noise_seed
  shape it; noise_type is not forwarded by the subclasses, so it is always 'normal'). The noise of
  step t is drawn from a fresh torch.Generator seeded with noise_seed + t (torch.randn(1), times
  noise_std, redrawn while |noise| >= noise_pct), and the lr becomes lr * (1 + noise). For noise
  cases `noise` holds, per row, the factor drawn (None where none was applied, and for row 0).
- transformers.optimization: every get_*schedule* builder that does not need a metric, and
  get_scheduler(name, optimizer, ...) for every SchedulerType name that does not need a metric.
  A real torch.optim.SGD (momentum 0.9) built as SGD(groups, lr=<optimizer lr>): `lr` is
  optimizer.defaults["lr"], which get_polynomial_decay_schedule_with_warmup and the min_lr argument
  of the cosine-with-min-lr builders read (instead of the groups' lrs). The constructor string is
  evaluated with the optimizer inserted as the first argument, or for get_scheduler as the second
  (after the name). Row 0 after construction (LambdaLR has applied lambda(0)); then for
  k = 1..steps: loss.backward(); optimizer.step(); scheduler.step(); optimizer.zero_grad()
  (the order transformers' Trainer uses); row k.
- refusals: constructions (or steps) each package rejects, with the exception type and message
  (str(exc); timm's bare asserts have an empty message). `raised_at` is "construction" or the
  1-based step k whose scheduler call raised.
"""
import ast, json, math, os, site, sys, tempfile, types, warnings
from importlib.metadata import version
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import torch

torch.set_num_threads(1)
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
FIXTURE = "timm_transformers_schedules.json"


def load_timm_scheduler():
    """Import the unmodified timm.scheduler package without running timm/__init__.py (needs torchvision)."""
    for d in site.getsitepackages():
        p = os.path.join(d, "timm")
        if os.path.isdir(p):
            break
    else:
        raise SystemExit("timm is not installed in this environment")
    pkg = types.ModuleType("timm")
    pkg.__path__ = [p]
    sys.modules["timm"] = pkg
    import timm.scheduler as s
    return s


timm_sched = load_timm_scheduler()
import transformers.optimization as hf_opt
from transformers.trainer_utils import SchedulerType
from transformers.utils import logging as hf_logging

hf_logging.set_verbosity_error()
import logging

logging.getLogger("timm").setLevel(logging.ERROR)


# ---------------------------------------------------------------- optimizer and helpers
def make_optimizer(spec):
    """spec: {"type": "SGD", "momentum": 0.9, "lr": <defaults lr, optional>, "groups": [{"lr": .., ...}]}."""
    torch.manual_seed(0)
    groups = []
    for i, g in enumerate(spec["groups"]):
        p = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 3) * (i + 1))
        groups.append({"params": [p], **g})
    assert spec["type"] == "SGD"
    return torch.optim.SGD(groups, lr=spec.get("lr", spec["groups"][0]["lr"]), momentum=spec["momentum"])


def backward_and_step(opt):
    loss = sum(((p - 0.5) ** 2).sum() for g in opt.param_groups for p in g["params"])
    loss.backward()
    opt.step()


def lrs(opt):
    return [float(g["lr"]) for g in opt.param_groups]


def ctor_call(ctor, namespace, opt, opt_position=0):
    """Evaluate the call string with the optimizer inserted as positional argument `opt_position`."""
    call = ast.parse(ctor, mode="eval").body
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.Name), ctor
    call.args.insert(opt_position, ast.Name(id="__opt__", ctx=ast.Load()))
    code = compile(ast.fix_missing_locations(ast.Expression(call)), "<constructor>", "eval")
    return eval(code, dict(namespace, __opt__=opt))


def sgd(*groups, lr=None):
    spec = {"type": "SGD", "momentum": 0.9, "groups": [g if isinstance(g, dict) else {"lr": g} for g in groups]}
    if lr is not None:
        spec["lr"] = lr
    return spec


# ---------------------------------------------------------------- timm
TIMM_CLASSES = ["StepLRScheduler", "MultiStepLRScheduler", "PolyLRScheduler", "TanhLRScheduler",
                "CosineLRScheduler", "WSDLRScheduler"]
TIMM_NS = {n: getattr(timm_sched, n) for n in TIMM_CLASSES}


def run_timm(case):
    opt = make_optimizer(case["optimizer"])
    sched = ctor_call(case["constructor"], TIMM_NS, opt)
    method = case.get("step_method") or ("step" if sched.t_in_epochs else "step_update")
    args = list(range(1, case["steps"] + 1))
    rows = [lrs(opt)]
    noise = [None]
    for a in args:
        backward_and_step(opt)
        opt.zero_grad()
        getattr(sched, method)(a)
        rows.append(lrs(opt))
        noise.append(sched._calculate_noise(a) if sched.noise_range_t is not None and sched._is_apply_noise(a)
                     and (method == "step") == sched.t_in_epochs else None)
    out = {"name": case["name"], "class": type(sched).__name__, "optimizer": case["optimizer"],
           "constructor": case["constructor"], "t_in_epochs": sched.t_in_epochs, "step_method": method,
           "steps": case["steps"], "step_args": args,
           "cycle_length": sched.get_cycle_length() if hasattr(sched, "get_cycle_length") else None,
           "lr": rows}
    if sched.noise_range_t is not None:
        out["noise"] = noise
    return out


T = lambda name, optimizer, steps, ctor, **kw: dict(name=name, optimizer=optimizer, steps=steps, constructor=ctor, **kw)

TIMM_CASES = [
    # ---- StepLRScheduler: warmup_prefix defaults to True
    T("step_basic", sgd(0.1), 12, "StepLRScheduler(decay_t=3, decay_rate=0.5)"),
    T("step_positional", sgd(0.1), 8, "StepLRScheduler(3, 0.5)"),
    T("step_warmup_prefix_default_2g", sgd(0.1, 0.01), 14,
      "StepLRScheduler(decay_t=4, decay_rate=0.1, warmup_t=2, warmup_lr_init=0.001)"),
    T("step_warmup_no_prefix", sgd(0.1), 14,
      "StepLRScheduler(decay_t=4, decay_rate=0.1, warmup_t=2, warmup_lr_init=0.001, warmup_prefix=False)"),
    T("step_float_decay_t_updates", sgd(0.1), 12, "StepLRScheduler(decay_t=2.5, decay_rate=0.5, t_in_epochs=False)"),
    T("step_warmup_updates", sgd(0.05, 0.02), 16,
      "StepLRScheduler(decay_t=5, decay_rate=0.8, warmup_t=3, warmup_lr_init=0.0, t_in_epochs=False)"),
    # ---- MultiStepLRScheduler: milestone m applies at t == m - 1 (bisect_right(decay_t, t + 1))
    T("multistep_basic", sgd(0.1), 12, "MultiStepLRScheduler(decay_t=[3, 6, 9], decay_rate=0.5)"),
    T("multistep_warmup_prefix_default_2g", sgd(0.1, 0.05), 12,
      "MultiStepLRScheduler(decay_t=[4, 8], decay_rate=0.1, warmup_t=2, warmup_lr_init=0.0001)"),
    T("multistep_warmup_no_prefix", sgd(0.1), 12,
      "MultiStepLRScheduler(decay_t=[4, 8], decay_rate=0.1, warmup_t=2, warmup_lr_init=0.0001, warmup_prefix=False)"),
    T("multistep_updates", sgd(0.1), 14, "MultiStepLRScheduler(decay_t=[5, 10], decay_rate=0.3, t_in_epochs=False)"),
    T("multistep_milestone_1", sgd(0.1), 6, "MultiStepLRScheduler(decay_t=[1, 3], decay_rate=0.5)"),
    T("multistep_unsorted", sgd(0.1), 9, "MultiStepLRScheduler(decay_t=[6, 3], decay_rate=0.5)"),
    # ---- PolyLRScheduler: power defaults to 0.5
    T("poly_default_power", sgd(0.1), 13, "PolyLRScheduler(t_initial=10)"),
    T("poly_warmup_2g", sgd(0.1, 0.01), 14,
      "PolyLRScheduler(t_initial=10, power=2.0, lr_min=0.001, warmup_t=3, warmup_lr_init=0.0001)"),
    T("poly_warmup_prefix", sgd(0.1), 16,
      "PolyLRScheduler(t_initial=10, power=1.0, lr_min=0.001, warmup_t=3, warmup_lr_init=0.0001, warmup_prefix=True)"),
    T("poly_cycles_decay", sgd(0.1), 20, "PolyLRScheduler(t_initial=6, power=1.0, cycle_limit=3, cycle_decay=0.5)"),
    T("poly_cycle_mul", sgd(0.1), 30,
      "PolyLRScheduler(t_initial=4, power=2.0, lr_min=0.0001, cycle_mul=2.0, cycle_limit=3)"),
    T("poly_k_decay", sgd(0.1), 12, "PolyLRScheduler(t_initial=10, power=1.0, k_decay=2.0)"),
    T("poly_updates_warmup_prefix", sgd(0.01), 48,
      "PolyLRScheduler(t_initial=40, power=0.9, warmup_t=5, warmup_lr_init=1e-05, warmup_prefix=True, t_in_epochs=False)"),
    # ---- TanhLRScheduler: lb=-7, ub=3; without prefix the warm-up aims at the tanh value at warmup_t
    T("tanh_default", sgd(0.1), 12, "TanhLRScheduler(t_initial=10)"),
    T("tanh_lb_ub_lr_min", sgd(0.1), 12, "TanhLRScheduler(t_initial=10, lb=-6.0, ub=4.0, lr_min=0.001)"),
    T("tanh_warmup_no_prefix_2g", sgd(0.1, 0.02), 13, "TanhLRScheduler(t_initial=10, warmup_t=3, warmup_lr_init=0.001)"),
    T("tanh_warmup_prefix", sgd(0.1), 15,
      "TanhLRScheduler(t_initial=10, warmup_t=3, warmup_lr_init=0.001, warmup_prefix=True)"),
    T("tanh_cycle_mul_decay", sgd(0.1), 38, "TanhLRScheduler(t_initial=5, cycle_mul=2.0, cycle_decay=0.5, cycle_limit=3)"),
    T("tanh_cycles_updates", sgd(0.1), 14, "TanhLRScheduler(t_initial=6, cycle_limit=2, cycle_decay=0.7, t_in_epochs=False)"),
    # ---- CosineLRScheduler
    T("cosine_basic", sgd(0.1), 12, "CosineLRScheduler(t_initial=10, lr_min=0.001)"),
    T("cosine_warmup_no_prefix_2g", sgd(0.1, 0.01), 12,
      "CosineLRScheduler(t_initial=10, lr_min=0.001, warmup_t=3, warmup_lr_init=0.0001)"),
    T("cosine_warmup_prefix", sgd(0.1), 15,
      "CosineLRScheduler(t_initial=10, lr_min=0.001, warmup_t=3, warmup_lr_init=0.0001, warmup_prefix=True)"),
    T("cosine_cycle_mul_decay", sgd(0.1), 30,
      "CosineLRScheduler(t_initial=4, lr_min=1e-05, cycle_mul=2.0, cycle_decay=0.5, cycle_limit=3)"),
    T("cosine_cycles_decay", sgd(0.1), 22, "CosineLRScheduler(t_initial=5, cycle_limit=4, cycle_decay=0.7)"),
    T("cosine_k_decay_2", sgd(0.1), 18, "CosineLRScheduler(t_initial=8, lr_min=0.001, k_decay=2.0, cycle_limit=2)"),
    T("cosine_k_decay_half", sgd(0.1), 10, "CosineLRScheduler(t_initial=8, k_decay=0.5)"),
    T("cosine_updates_warmup_prefix", sgd(0.05), 64,
      "CosineLRScheduler(t_initial=50, lr_min=1e-05, warmup_t=10, warmup_lr_init=1e-06, warmup_prefix=True, t_in_epochs=False)"),
    T("cosine_cycle_mul_1.5_log_rounding", sgd(0.1), 220,
      "CosineLRScheduler(t_initial=16, cycle_mul=1.5, cycle_limit=6, t_in_epochs=False)"),
    T("cosine_updates_but_step_called", sgd(0.1), 5, "CosineLRScheduler(t_initial=10, lr_min=0.001, t_in_epochs=False)",
      step_method="step"),
    T("cosine_lr_scale_group", sgd(0.1, {"lr": 0.1, "lr_scale": 0.5}), 8,
      "CosineLRScheduler(t_initial=6, warmup_t=2, warmup_lr_init=0.001)"),
    # ---- noise (torch.Generator seeded noise_seed + t)
    T("cosine_noise_seed42", sgd(0.1, 0.01), 12,
      "CosineLRScheduler(t_initial=10, lr_min=0.001, noise_range_t=[3, 8], noise_pct=0.67, noise_std=1.0, noise_seed=42)"),
    T("cosine_noise_seed7", sgd(0.1, 0.01), 12,
      "CosineLRScheduler(t_initial=10, lr_min=0.001, noise_range_t=[3, 8], noise_pct=0.67, noise_std=1.0, noise_seed=7)"),
    T("step_noise_from_4", sgd(0.1), 10, "StepLRScheduler(decay_t=3, decay_rate=0.5, noise_range_t=4, noise_pct=0.2, noise_std=0.5)"),
    # ---- WSDLRScheduler (timm 1.0.31; warm-up always a prefix)
    T("wsd_default", sgd(0.1), 22, "WSDLRScheduler(t_initial=20, decay_t=5)"),
    T("wsd_cosine_warmup_2g", sgd(0.1, 0.01), 26,
      "WSDLRScheduler(t_initial=20, decay_t=8, lr_min=0.001, decay_fn='cosine', warmup_t=4, warmup_lr_init=0.0001)"),
    T("wsd_rsqrt_linear", sgd(0.1), 26, "WSDLRScheduler(t_initial=20, decay_t=6, stable_fn='rsqrt', decay_fn='linear', warmup_t=4)"),
    T("wsd_power_exp_updates", sgd(0.1), 18,
      "WSDLRScheduler(t_initial=16, decay_t=6, stable_fn='power', stable_power=0.3, stable_timescale=2.0, decay_fn='exp', decay_ratio=0.05, t_in_epochs=False)"),
    T("wsd_decay_power", sgd(0.1), 14, "WSDLRScheduler(t_initial=12, decay_t=6, decay_fn='power', decay_power=2.0, lr_min=0.01)"),
]


# ---------------------------------------------------------------- transformers
HF_FUNCTIONS = sorted(n for n in dir(hf_opt) if n.startswith("get_") and "schedule" in n)
HF_NS = {n: getattr(hf_opt, n) for n in HF_FUNCTIONS}
NEEDS_METRIC = {"reduce_lr_on_plateau", "greedy"}
HF_NOT_RECORDED = {
    "get_reduce_on_plateau_schedule": "ReduceLROnPlateau: step(metrics) needs a metric",
    "get_greedy_schedule": "GreedyLR: step(metrics) needs a metric",
    "get_adafactor_schedule": "AdafactorSchedule is a proxy that reads the lr from transformers' Adafactor "
                              "optimizer (optimizer._get_lr), not a schedule; on SGD it raises at the first step",
}


def run_hf(case):
    opt = make_optimizer(case["optimizer"])
    pos = 1 if case["constructor"].startswith("get_scheduler(") else 0
    sched = ctor_call(case["constructor"], HF_NS, opt, pos)
    rows = [lrs(opt)]
    for _ in range(case["steps"]):
        backward_and_step(opt)
        sched.step()
        opt.zero_grad()
        rows.append(lrs(opt))
    fn = case["constructor"].split("(", 1)[0]
    return {"name": case["name"], "function": fn, "optimizer": case["optimizer"],
            "optimizer_defaults_lr": float(opt.defaults["lr"]), "constructor": case["constructor"],
            "scheduler_class": type(sched).__name__, "steps": case["steps"], "lr": rows}


HF_CASES = [
    # ---- get_constant_schedule / get_constant_schedule_with_warmup
    T("constant", sgd(0.1), 5, "get_constant_schedule()"),
    T("constant_warmup_2g", sgd(0.1, 0.01), 7, "get_constant_schedule_with_warmup(num_warmup_steps=4)"),
    T("constant_warmup_zero", sgd(0.1), 3, "get_constant_schedule_with_warmup(num_warmup_steps=0)"),
    # ---- linear
    T("linear_2g", sgd(0.1, 0.01), 24, "get_linear_schedule_with_warmup(num_warmup_steps=5, num_training_steps=20)"),
    T("linear_no_warmup", sgd(0.1), 12, "get_linear_schedule_with_warmup(num_warmup_steps=0, num_training_steps=10)"),
    T("linear_positional", sgd(0.05), 12, "get_linear_schedule_with_warmup(2, 10)"),
    T("linear_warmup_longer_than_training", sgd(0.1), 10,
      "get_linear_schedule_with_warmup(num_warmup_steps=8, num_training_steps=6)"),
    # ---- cosine
    T("cosine_past_end", sgd(0.1), 30, "get_cosine_schedule_with_warmup(num_warmup_steps=3, num_training_steps=20)"),
    T("cosine_cycles_1.5_2g", sgd(0.1, 0.01), 14,
      "get_cosine_schedule_with_warmup(num_warmup_steps=2, num_training_steps=12, num_cycles=1.5)"),
    # ---- cosine with hard restarts
    T("hard_restarts_3", sgd(0.1), 22,
      "get_cosine_with_hard_restarts_schedule_with_warmup(num_warmup_steps=2, num_training_steps=20, num_cycles=3)"),
    T("hard_restarts_default", sgd(0.1), 12,
      "get_cosine_with_hard_restarts_schedule_with_warmup(num_warmup_steps=0, num_training_steps=10)"),
    T("hard_restarts_mod_rounding", sgd(0.1), 26,
      "get_cosine_with_hard_restarts_schedule_with_warmup(num_warmup_steps=2, num_training_steps=24, num_cycles=22)"),
    # ---- polynomial (reads optimizer.defaults['lr'])
    T("poly_defaults", sgd(0.1), 18, "get_polynomial_decay_schedule_with_warmup(num_warmup_steps=3, num_training_steps=15)"),
    T("poly_power2_2g", sgd(0.1, 0.01), 14,
      "get_polynomial_decay_schedule_with_warmup(num_warmup_steps=2, num_training_steps=12, lr_end=0.001, power=2.0)"),
    T("poly_defaults_lr_differs_2g", sgd(0.1, 0.01, lr=0.05), 14,
      "get_polynomial_decay_schedule_with_warmup(num_warmup_steps=2, num_training_steps=12, lr_end=0.001, power=2.0)"),
    # ---- inverse sqrt
    T("inverse_sqrt", sgd(0.1), 20, "get_inverse_sqrt_schedule(num_warmup_steps=4)"),
    T("inverse_sqrt_no_warmup", sgd(0.1), 5, "get_inverse_sqrt_schedule(num_warmup_steps=0)"),
    T("inverse_sqrt_timescale_2g", sgd(0.1, 0.01), 15, "get_inverse_sqrt_schedule(num_warmup_steps=3, timescale=10)"),
    # ---- cosine with min lr
    T("cosine_min_lr_2g_defaults_lr_differs", sgd(0.1, 0.01, lr=0.05), 16,
      "get_cosine_with_min_lr_schedule_with_warmup(num_warmup_steps=2, num_training_steps=12, min_lr=0.001)"),
    T("cosine_min_lr_rate_cycles", sgd(0.1), 12,
      "get_cosine_with_min_lr_schedule_with_warmup(num_warmup_steps=0, num_training_steps=10, num_cycles=1.0, min_lr_rate=0.1)"),
    # ---- cosine with min lr, lr-rate warm-up
    T("cosine_warmup_lr_rate_default", sgd(0.1), 18,
      "get_cosine_with_min_lr_schedule_with_warmup_lr_rate(num_warmup_steps=4, num_training_steps=16, min_lr_rate=0.1)"),
    T("cosine_warmup_lr_rate_given_2g", sgd(0.1, 0.01), 18,
      "get_cosine_with_min_lr_schedule_with_warmup_lr_rate(num_warmup_steps=4, num_training_steps=16, min_lr=0.001, warmup_lr_rate=0.2)"),
    T("cosine_warmup_lr_rate_one_warmup_step", sgd(0.1), 8,
      "get_cosine_with_min_lr_schedule_with_warmup_lr_rate(num_warmup_steps=1, num_training_steps=6, min_lr_rate=0.0, warmup_lr_rate=0.5)"),
    # ---- warmup-stable-decay
    T("wsd_defaults", sgd(0.1), 22, "get_wsd_schedule(num_warmup_steps=3, num_decay_steps=5, num_training_steps=20)"),
    T("wsd_cosine_warmup_1sqrt_decay_2g", sgd(0.1, 0.01), 18,
      "get_wsd_schedule(num_warmup_steps=4, num_decay_steps=6, num_stable_steps=5, warmup_type='cosine', decay_type='1-sqrt', min_lr_ratio=0.1)"),
    T("wsd_1sqrt_warmup_linear_decay", sgd(0.1), 22,
      "get_wsd_schedule(num_warmup_steps=4, num_decay_steps=6, num_training_steps=20, warmup_type='1-sqrt', decay_type='linear', min_lr_ratio=0.05)"),
    T("wsd_cosine_full_cycle", sgd(0.1), 16,
      "get_wsd_schedule(num_warmup_steps=2, num_decay_steps=8, num_training_steps=14, num_cycles=1.0)"),
    T("wsd_stable_overrides_training", sgd(0.1), 16,
      "get_wsd_schedule(num_warmup_steps=2, num_decay_steps=4, num_training_steps=30, num_stable_steps=3)"),
    # ---- get_scheduler, every SchedulerType name that needs no metric
    T("sched_linear", sgd(0.1), 14, "get_scheduler('linear', num_warmup_steps=3, num_training_steps=12)"),
    T("sched_cosine_2g", sgd(0.1, 0.01), 12,
      "get_scheduler('cosine', num_warmup_steps=2, num_training_steps=10, scheduler_specific_kwargs={'num_cycles': 1.0})"),
    T("sched_cosine_with_restarts", sgd(0.1), 14,
      "get_scheduler('cosine_with_restarts', num_warmup_steps=1, num_training_steps=12, scheduler_specific_kwargs={'num_cycles': 2})"),
    T("sched_polynomial", sgd(0.1), 12,
      "get_scheduler('polynomial', num_warmup_steps=2, num_training_steps=10, scheduler_specific_kwargs={'lr_end': 0.0001, 'power': 3.0})"),
    T("sched_constant_ignores_warmup", sgd(0.1), 8, "get_scheduler('constant', num_warmup_steps=5, num_training_steps=10)"),
    T("sched_constant_with_warmup", sgd(0.1, 0.01), 6,
      "get_scheduler('constant_with_warmup', num_warmup_steps=3, num_training_steps=10)"),
    T("sched_inverse_sqrt", sgd(0.1), 14,
      "get_scheduler('inverse_sqrt', num_warmup_steps=4, scheduler_specific_kwargs={'timescale': 8})"),
    T("sched_cosine_with_min_lr", sgd(0.1), 12,
      "get_scheduler('cosine_with_min_lr', num_warmup_steps=2, num_training_steps=10, scheduler_specific_kwargs={'min_lr_rate': 0.05})"),
    T("sched_cosine_warmup_with_min_lr", sgd(0.1), 14,
      "get_scheduler('cosine_warmup_with_min_lr', num_warmup_steps=3, num_training_steps=12, scheduler_specific_kwargs={'min_lr': 0.001})"),
    T("sched_warmup_stable_decay", sgd(0.1), 14,
      "get_scheduler('warmup_stable_decay', num_warmup_steps=2, num_training_steps=12, scheduler_specific_kwargs={'num_decay_steps': 4, 'min_lr_ratio': 0.1})"),
]


# ---------------------------------------------------------------- refusals
def refusal(package, optimizer, ctor, steps=0, step_call=None):
    opt = make_optimizer(optimizer)
    rec = {"package": package, "optimizer": optimizer, "constructor": ctor}
    try:
        if package == "timm":
            sched = ctor_call(ctor, TIMM_NS, opt)
        else:
            sched = ctor_call(ctor, HF_NS, opt, 1 if ctor.startswith("get_scheduler(") else 0)
    except Exception as e:
        rec.update(raised_at="construction", exception_type=type(e).__name__, message=str(e))
        return rec
    if package == "timm":
        rec["step_method"] = "step" if sched.t_in_epochs else "step_update"
    for k in range(1, steps + 1):
        backward_and_step(opt)
        try:
            if package == "timm":
                getattr(sched, rec["step_method"])(k)
            else:
                sched.step()
        except Exception as e:
            rec.update(raised_at=k, exception_type=type(e).__name__, message=str(e))
            return rec
        opt.zero_grad()
    raise AssertionError(f"not refused: {ctor}")


def refusals():
    out = []
    t = lambda c, steps=0, opt=None: out.append(refusal("timm", opt or sgd(0.1), c, steps))
    t("CosineLRScheduler()")
    t("CosineLRScheduler(t_initial=0)")
    t("CosineLRScheduler(t_initial=10, lr_min=-0.001)")
    t("CosineLRScheduler(t_initial=4, cycle_mul=0.5, cycle_limit=10)", steps=12)
    t("PolyLRScheduler(t_initial=0, power=2.0)")
    t("TanhLRScheduler(t_initial=10, lb=3.0, ub=-7.0)")
    t("TanhLRScheduler(t_initial=10, cycle_limit=-1)")
    t("TanhLRScheduler(t_initial=10, warmup_t=2, warmup_lr_init=-0.001)")
    t("StepLRScheduler(decay_rate=0.5)")
    t("StepLRScheduler(decay_t=0, decay_rate=0.5)", steps=3)
    t("MultiStepLRScheduler(decay_t=5, decay_rate=0.5)", steps=3)
    t("WSDLRScheduler(t_initial=10, decay_t=12)")
    t("WSDLRScheduler(t_initial=10, decay_t=4, stable_fn='rsqrt')")
    t("WSDLRScheduler(t_initial=10, decay_t=4, decay_fn='step')")
    t("WSDLRScheduler(t_initial=10, decay_t=4, decay_fn='exp', decay_ratio=1.0)")
    h = lambda c, steps=0, opt=None: out.append(refusal("transformers", opt or sgd(0.1), c, steps))
    h("get_scheduler('linear', num_warmup_steps=3)")
    h("get_scheduler('cosine', num_training_steps=10)")
    h("get_scheduler('cosine_annealing', num_warmup_steps=3, num_training_steps=10)")
    h("get_scheduler('cosine_with_restarts', num_warmup_steps=1, num_training_steps=10, scheduler_specific_kwargs={'power': 2.0})")
    h("get_scheduler('warmup_stable_decay', num_warmup_steps=2, scheduler_specific_kwargs={'num_decay_steps': 4})")
    h("get_scheduler('cosine_with_min_lr', num_warmup_steps=2, num_training_steps=10)")
    h("get_scheduler('reduce_lr_on_plateau', num_warmup_steps=2, num_training_steps=10)", steps=1)
    h("get_scheduler('greedy', num_warmup_steps=2, num_training_steps=10)", steps=1)
    h("get_linear_schedule_with_warmup(num_warmup_steps=5)")
    h("get_wsd_schedule(num_warmup_steps=2, num_decay_steps=4, num_training_steps=10, decay_type='exp')")
    h("get_wsd_schedule(num_warmup_steps=2, num_decay_steps=4, num_training_steps=10, warmup_type='constant')")
    h("get_polynomial_decay_schedule_with_warmup(num_warmup_steps=2, num_training_steps=10, lr_end=0.5)")
    h("get_polynomial_decay_schedule_with_warmup(num_warmup_steps=5, num_training_steps=5)", steps=8)
    h("get_cosine_with_min_lr_schedule_with_warmup(num_warmup_steps=2, num_training_steps=10, min_lr=0.001, min_lr_rate=0.1)")
    h("get_inverse_sqrt_schedule(num_warmup_steps=0, timescale=0)")
    h("get_adafactor_schedule()", steps=1)
    return out


# ---------------------------------------------------------------- main
def main():
    tm = [run_timm(c) for c in TIMM_CASES]
    hf = [run_hf(c) for c in HF_CASES]
    names = [c["name"] for c in tm] + [c["name"] for c in hf]
    assert len(set(c["name"] for c in tm)) == len(tm) and len(set(c["name"] for c in hf)) == len(hf), names
    # the noise is a function of (noise_seed, t): a second run gives the same rows, another seed others
    again = run_timm(next(c for c in TIMM_CASES if c["name"] == "cosine_noise_seed42"))
    by = {c["name"]: c for c in tm}
    assert again["lr"] == by["cosine_noise_seed42"]["lr"]
    assert by["cosine_noise_seed42"]["lr"][3:8] != by["cosine_noise_seed7"]["lr"][3:8]
    names_recorded = sorted({c["function"] for c in hf})
    sched_names = sorted({ast.literal_eval(ast.parse(c["constructor"], mode="eval").body.args[0])
                          for c in hf if c["function"] == "get_scheduler"})
    non_metric_types = sorted(s.value for s in SchedulerType if s.value not in NEEDS_METRIC)
    assert sched_names == non_metric_types, (sched_names, non_metric_types)
    assert set(names_recorded) | set(HF_NOT_RECORDED) == set(HF_FUNCTIONS), (names_recorded, HF_FUNCTIONS)
    doc = {
        "generator": "record_timm_transformers_schedules.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__, "timm": version("timm"),
                     "transformers": version("transformers")},
        "timm": {
            "module": "timm.scheduler",
            "classes": TIMM_CLASSES,
            "not_recorded": {"PlateauLRScheduler": "needs a metric"},
            "loop": "row 0 after construction; for each a in step_args: optimizer.step(); "
                    "scheduler.<step_method>(a); row",
            "noise_arguments": ["noise_range_t", "noise_pct", "noise_std", "noise_seed"],
            "noise_note": "noise applies at t in [noise_range_t[0], noise_range_t[1]) (list/tuple) or t >= "
                          "noise_range_t (int); factor n drawn from torch.Generator().manual_seed(noise_seed + t): "
                          "n = torch.randn(1) * noise_std, redrawn while |n| >= noise_pct; lr -> lr * (1 + n). "
                          "Not applied at construction.",
            "cases": tm,
        },
        "transformers": {
            "module": "transformers.optimization",
            "functions": HF_FUNCTIONS,
            "recorded_functions": names_recorded,
            "not_recorded": HF_NOT_RECORDED,
            "scheduler_types": [s.value for s in SchedulerType],
            "scheduler_types_recorded": sched_names,
            "loop": "row 0 after construction; for k in 1..steps: loss.backward(); optimizer.step(); "
                    "scheduler.step(); optimizer.zero_grad(); row k",
            "cases": hf,
        },
        "refusals": refusals(),
    }
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".timm_transformers_schedules.", suffix=".json.tmp", dir=OUT)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, OUT / FIXTURE)
    print(f"timm cases {len(tm)}, transformers cases {len(hf)}, refusals {len(doc['refusals'])}")


if __name__ == "__main__":
    main()
