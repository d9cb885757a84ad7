"""Records reference fixtures from the real timm, transformers, Megatron-core, DeepSpeed and torch code
(none of them is a dependency of HalfTrace): timm_schedules.json, transformers_schedules.json and
scaler_rules.json.

Run from a virtual environment outside the repository (CPU only, no GPU, a few seconds):

    python3 -m venv /work/famenv
    /work/famenv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu   # (recorded with /opt/wheels/torch-2.13.0+cpu-*.whl)
    /work/famenv/bin/pip install --no-deps timm==1.0.31        # no torchvision: keeps the CPU torch
    /work/famenv/bin/pip install pyyaml huggingface_hub safetensors
    /work/famenv/bin/pip install transformers==5.25.0 megatron-core==0.16.1
    DS_BUILD_OPS=0 /work/famenv/bin/pip install deepspeed==0.19.8
    OMP_NUM_THREADS=1 /work/famenv/bin/python Tests/HalfTraceTests/Fixtures/record_families.py [out_dir]

out_dir defaults to this script's directory. Every float is written with float.hex() so that it parses
back exactly (settings and args too; integers and booleans are written as JSON integers/booleans).
Each file records the package versions it was made with.

What runs, and what is stubbed:
- timm: timm/__init__.py imports torchvision, which is not installed, so the unmodified
  timm.scheduler modules are loaded through a bare parent package (load_timm_scheduler below).
  CosineLRScheduler drives a real torch.optim.SGD (momentum 0.9); before every scheduler call the
  optimizer takes a real step on a quadratic loss; the lr is read back from param_groups[0].
- transformers: the get_*_schedule builders from transformers.optimization, on a real SGD
  (momentum 0.9, one or two parameter groups), stepped as a training loop does
  (optimizer.step() then scheduler.step()). lr[0] is read right after construction (LambdaLR has
  already applied lambda(0)), lr[k] after the k-th scheduler.step().
- torch.amp.GradScaler('cpu'): real scale()/backward/step/update on a real SGD (momentum 0.9, two
  groups); on overflow steps one gradient element is replaced by +inf after backward. found_inf is the
  scaler's own detection (checked against the pattern), and a skipped step leaves the params unchanged.
- Megatron DynamicGradScaler: the real class. Its constructor hard-codes device='cuda', so the
  module-global `torch` of grad_scaler.py is replaced by a proxy that drops the `device` keyword.
  Each step the scaled gradient is set directly (1.0, or +inf on overflow steps), checked and unscaled
  by torch._amp_foreach_non_finite_check_and_unscale_ with the scaler's inv_scale (the call
  Megatron's MixedPrecisionOptimizer makes), update(found_inf) is called, and SGD steps unless found_inf.
- DeepSpeed DynamicLossScaler (the ZeRO scaler): the real class; deepspeed.comm in its module is
  replaced by a stub whose get_rank() returns 0 (used only for log messages). Overflow is detected by
  DeepSpeed's CheckOverflow.has_overflow (DynamicLossScaler.has_overflow_serial itself raises
  TypeError in 0.19.8: its _has_inf_or_nan lacks `self`). On a clean step the gradient is unscaled
  with the already-updated scale, as ZeRO 1/2 does, and SGD steps.
- DeepSpeed FP16_Optimizer: the whole real optimizer (it builds on CPU), wrapping a real SGD
  (momentum 0.9), with its LossScaleConfig built as engine._configure_fp16_optimizer builds it from a
  real DeepSpeedFP16Config; the scale comes from its own step() (overflow check, _update_scale,
  unscale, inner step). As a cross-check the unbound FP16_Optimizer._update_scale is also run on a
  minimal `self` and must give the same sequence.

scaler_rules.json: per case, found_inf is the whole pattern; scale_before[i] is the scale in force
when update i is attempted; scale_after[i] the scale after it. If update i raises (DeepSpeed at the
minimum scale), raised_at = i, scale_before has i+1 entries and scale_after i; otherwise raised_at is
null and both have one entry per update.
"""
import importlib.util, json, logging, math, os, random, site, sys, types, warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import torch

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
H = lambda v: float(v).hex()
torch.manual_seed(0)


def version(pkg):
    from importlib.metadata import version as v
    return v(pkg)


def dump(name, obj):
    obj = {"generator": "record_families.py", **obj}
    with open(OUT / f"{name}.json", "w") as f:
        json.dump(obj, f, indent=0)
        f.write("\n")


def hexify(d):
    """Floats -> hex strings; ints, bools, strings and None unchanged."""
    return {k: (H(v) if isinstance(v, float) else v) for k, v in d.items()}


class Model:
    """A real SGD(momentum 0.9) on loss = sum(a*p^2)/2 over one or more parameter groups."""

    def __init__(self, group_lrs, default_lr=None, dtype=torch.float32):
        self.params = [torch.nn.Parameter(torch.linspace(0.5, 1.5, 3, dtype=dtype) * (i + 1))
                       for i in range(len(group_lrs))]
        groups = [{"params": [p]} if (lr is None) else {"params": [p], "lr": lr}
                  for p, lr in zip(self.params, group_lrs)]
        self.opt = torch.optim.SGD(groups, lr=default_lr if default_lr is not None else group_lrs[0], momentum=0.9)

    def train_step(self):
        self.opt.zero_grad()
        sum((0.5 * p * p).sum() for p in self.params).backward()
        self.opt.step()

    def lrs(self):
        return [g["lr"] for g in self.opt.param_groups]


# =============================================================================== timm
def load_timm_scheduler():
    """Import timm.scheduler without timm/__init__.py (which needs torchvision)."""
    for d in site.getsitepackages():
        p = os.path.join(d, "timm")
        if os.path.isdir(p):
            break
    pkg = types.ModuleType("timm")
    pkg.__path__ = [p]
    sys.modules["timm"] = pkg
    import timm.scheduler.cosine_lr as c
    return c


def timm_case(cosine_lr, name, base_lr, last_t, **kw):
    args = dict(t_initial=1, lr_min=0.0, cycle_mul=1.0, cycle_decay=1.0, cycle_limit=1, warmup_t=0,
                warmup_lr_init=0.0, warmup_prefix=False, k_decay=1.0, t_in_epochs=True)
    args.update(kw)
    m = Model([base_lr])
    sch = cosine_lr.CosineLRScheduler(m.opt, **args)
    construction = m.opt.param_groups[0]["lr"]
    lrs = []
    for t in range(last_t + 1):
        m.train_step()
        if args["t_in_epochs"]:
            sch.step(t)
        else:
            sch.step_update(t)
        lrs.append(m.opt.param_groups[0]["lr"])
    return {"name": name, "args": hexify(args), "base_lr": H(base_lr), "steps": list(range(last_t + 1)),
            "lr": [H(v) for v in lrs], "construction_lr": H(construction)}


def record_timm():
    c = load_timm_scheduler()
    cases = [
        timm_case(c, "plain", 0.1, 15, t_initial=10, lr_min=0.001, cycle_limit=1),
        timm_case(c, "warmup", 0.1, 14, t_initial=10, warmup_t=3, warmup_lr_init=0.01, lr_min=0.001),
        timm_case(c, "warmup_prefix", 0.1, 14, t_initial=10, warmup_t=3, warmup_lr_init=0.01, lr_min=0.001,
                  warmup_prefix=True),
        timm_case(c, "restarts_mul2_decay0.5", 1.0, 31, t_initial=4, cycle_mul=2.0, cycle_decay=0.5, cycle_limit=3,
                  lr_min=0.0),
        timm_case(c, "mul1_limit4_decay0.7", 0.1, 25, t_initial=5, cycle_mul=1.0, cycle_limit=4, cycle_decay=0.7,
                  lr_min=0.001),
        timm_case(c, "k_decay2", 0.1, 20, t_initial=8, cycle_limit=2, k_decay=2.0, lr_min=0.001),
        timm_case(c, "per_update", 0.05, 400, t_initial=50, warmup_t=10, warmup_lr_init=1e-4, cycle_mul=1.5,
                  cycle_limit=5, lr_min=1e-5, t_in_epochs=False),
        timm_case(c, "defect_T1_mul10", 1.0, 1200, t_initial=1, cycle_mul=10.0, cycle_limit=10, lr_min=0.0),
        timm_case(c, "defect_T1_mul3", 1.0, 400, t_initial=1, cycle_mul=3.0, cycle_limit=10, lr_min=0.0),
        timm_case(c, "defect_T16_mul1.5", 1.0, 260, t_initial=16, cycle_mul=1.5, cycle_limit=20, lr_min=0.0),
        timm_case(c, "defect_T10_mul1.1", 1.0, 600, t_initial=10, cycle_mul=1.1, cycle_limit=40, lr_min=0.0),
        timm_case(c, "mul1.5_no_defect", 1.0, 60, t_initial=4, cycle_mul=1.5, cycle_limit=6, lr_min=0.0),
    ]
    src = f"timm {version('timm')} timm.scheduler.cosine_lr.CosineLRScheduler on torch.optim.SGD(momentum=0.9), torch {torch.__version__}"
    dump("timm_schedules", {"source": src, "timm": version("timm"), "torch": torch.__version__, "cases": cases})
    return cases


# ======================================================================== transformers
def hf_case(name, builder, group_lrs, default_lr, n_steps, **args):
    import transformers.optimization as O
    m = Model(group_lrs, default_lr=default_lr)
    base = m.lrs()
    sch = getattr(O, builder)(m.opt, **args)
    rows = [m.lrs()]
    for _ in range(n_steps):
        m.train_step()
        sch.step()
        rows.append(m.lrs())
    return {"name": name, "builder": builder, "args": hexify(args), "base_lrs": [H(v) for v in base],
            "optimizer_default_lr": H(m.opt.defaults["lr"]), "lr": [[H(v) for v in r] for r in rows]}


def record_transformers():
    import transformers.optimization as O
    L, C, R = "get_linear_schedule_with_warmup", "get_cosine_schedule_with_warmup", \
        "get_cosine_with_hard_restarts_schedule_with_warmup"
    P, I, W = "get_polynomial_decay_schedule_with_warmup", "get_inverse_sqrt_schedule", "get_wsd_schedule"
    two = [0.1, 0.025]
    cases = [
        hf_case("linear_W5_N20", L, two, 0.1, 25, num_warmup_steps=5, num_training_steps=20),
        hf_case("linear_W0_N10", L, [0.1], 0.1, 15, num_warmup_steps=0, num_training_steps=10),
        hf_case("cosine_W3_N20_c0.5", C, two, 0.1, 25, num_warmup_steps=3, num_training_steps=20, num_cycles=0.5),
        hf_case("cosine_W3_N20_c1.75", C, [0.1], 0.1, 25, num_warmup_steps=3, num_training_steps=20, num_cycles=1.75),
        hf_case("cosine_W0_N15_c2", C, [0.1], 0.1, 20, num_warmup_steps=0, num_training_steps=15, num_cycles=2.0),
        hf_case("hard_restarts_W2_N22_c3", R, two, 0.1, 27, num_warmup_steps=2, num_training_steps=22, num_cycles=3),
        hf_case("hard_restarts_defect_W0_N11_c55", R, [2e-5], 2e-5, 16, num_warmup_steps=0, num_training_steps=11,
                num_cycles=55),
        hf_case("hard_restarts_defect_W0_N22_c22", R, [0.1], 0.1, 27, num_warmup_steps=0, num_training_steps=22,
                num_cycles=22),
        hf_case("hard_restarts_defect_W100_N122_c22", R, [0.1], 0.1, 127, num_warmup_steps=100,
                num_training_steps=122, num_cycles=22),
        hf_case("hard_restarts_defect_W0_N43_c43", R, [0.1], 0.1, 48, num_warmup_steps=0, num_training_steps=43,
                num_cycles=43),
        hf_case("hard_restarts_W0_N40_c2.5", R, [0.1], 0.1, 45, num_warmup_steps=0, num_training_steps=40,
                num_cycles=2.5),
        hf_case("polynomial_W2_N10_end0.1_p2_two_groups", P, [None, 0.5], 1.0, 15, num_warmup_steps=2,
                num_training_steps=10, lr_end=0.1, power=2.0),
        hf_case("polynomial_W3_N12_end1e-7_p1", P, [1e-3], 1e-3, 17, num_warmup_steps=3, num_training_steps=12,
                lr_end=1e-7, power=1.0),
        hf_case("inverse_sqrt_W5", I, two, 0.1, 30, num_warmup_steps=5),
        hf_case("inverse_sqrt_W0", I, [0.1], 0.1, 30, num_warmup_steps=0),
        hf_case("inverse_sqrt_W4_timescale9", I, [0.1], 0.1, 30, num_warmup_steps=4, timescale=9),
    ]
    if hasattr(O, W):
        cases += [
            hf_case("wsd_W2_D4_N10_cosine", W, two, 0.1, 15, num_warmup_steps=2, num_decay_steps=4,
                    num_training_steps=10, decay_type="cosine"),
            hf_case("wsd_W3_S5_D4_linear_min0.1", W, [0.1], 0.1, 17, num_warmup_steps=3, num_stable_steps=5,
                    num_decay_steps=4, decay_type="linear", min_lr_ratio=0.1),
            hf_case("wsd_W2_S2_D6_1-sqrt_warmup_cosine", W, [0.1], 0.1, 15, num_warmup_steps=2, num_stable_steps=2,
                    num_decay_steps=6, decay_type="1-sqrt", warmup_type="cosine"),
        ]
    src = (f"transformers {version('transformers')} transformers.optimization builders (LambdaLR) on "
           f"torch.optim.SGD(momentum=0.9), torch {torch.__version__}")
    dump("transformers_schedules", {"source": src, "transformers": version("transformers"),
                                    "torch": torch.__version__, "cases": cases})
    return cases


# ============================================================================ scalers
def load_scalers():
    logging.disable(logging.CRITICAL)
    import megatron.core.optimizer.grad_scaler as mgs

    class _TorchNoDevice(types.ModuleType):
        def __init__(self):
            super().__init__("torch_proxy")

        def __getattr__(self, name):
            return getattr(torch, name)

        @staticmethod
        def tensor(*a, **kw):
            kw.pop("device", None)
            return torch.tensor(*a, **kw)

    mgs.torch = _TorchNoDevice()
    import deepspeed.runtime.fp16.loss_scaler as dls
    from deepspeed.runtime.fp16.fused_optimizer import FP16_Optimizer
    from deepspeed.runtime.precision_config import DeepSpeedFP16Config
    from deepspeed.runtime.utils import CheckOverflow
    dls.dist = types.SimpleNamespace(get_rank=lambda: 0)
    return mgs, dls, FP16_Optimizer, DeepSpeedFP16Config, CheckOverflow


SCALE_KEYS = {"init_scale", "initial_scale", "min_scale", "growth_factor", "backoff_factor"}


class Raised(Exception):
    pass


def drive(step_fn, scale_fn, pattern):
    before, after, raised = [], [], None
    for i, inf in enumerate(pattern):
        before.append(scale_fn())
        try:
            step_fn(inf)
        except Raised:
            raised = i
            break
        after.append(scale_fn())
    return before, after, raised


def torch_run(settings, pattern):
    m = Model([0.1, 0.05])
    sc = torch.amp.GradScaler("cpu", **settings)

    def scale():
        return sc.get_scale() if sc._scale is not None else sc._init_scale

    def step(inf):
        m.opt.zero_grad()
        # a linear loss: every gradient element is 0.5, so scale*0.5 stays finite up to scale 2**127 (scenario G)
        loss = sum((0.5 * p).sum() for p in m.params)
        sc.scale(loss).backward()
        if inf:
            m.params[1].grad[1] = float("inf")
        snap = [p.detach().clone() for p in m.params]
        sc.step(m.opt)
        found = sum(v.item() for v in sc._found_inf_per_device(m.opt).values()) > 0
        assert found == bool(inf), "GradScaler's own inf check disagrees with the pattern"
        unchanged = all(torch.equal(a, p.detach()) for a, p in zip(snap, m.params))
        assert unchanged == bool(inf), "optimizer step ran on an overflow step (or skipped a clean one)"
        sc.update()
    return drive(step, scale, pattern)


def megatron_run(mgs, settings, pattern):
    m = Model([0.1, 0.05])
    s = mgs.DynamicGradScaler(**settings)

    def step(inf):
        for p in m.params:
            p.grad = torch.ones_like(p)
        if inf:
            m.params[1].grad[1] = float("inf")
        found_inf = torch.zeros(1)
        torch._amp_foreach_non_finite_check_and_unscale_([p.grad for p in m.params], found_inf, s.inv_scale)
        flag = found_inf.item() > 0
        assert flag == bool(inf)
        s.update(flag)
        if not flag:
            m.opt.step()
    return drive(step, lambda: s.scale.item(), pattern)


def deepspeed_run(dls, CheckOverflow, settings, pattern):
    m = Model([0.1, 0.05])
    s = dls.DynamicLossScaler(**settings)
    check = CheckOverflow([m.params], mpu=None, zero_reduce_scatter=False, deepspeed=None)

    def step(inf):
        for p in m.params:
            p.grad = torch.ones_like(p)
        if inf:
            m.params[1].grad[1] = float("inf")
        overflow = check.has_overflow(m.params)
        assert overflow == bool(inf)
        try:
            s.update_scale(overflow)
        except Exception as e:
            if "already at minimum" in str(e):
                raise Raised() from e
            raise
        if not overflow:
            for p in m.params:
                p.grad.mul_(1.0 / s.cur_scale)
            m.opt.step()
    return drive(step, lambda: s.cur_scale, pattern)


def ds_fp16_run(dls, FP16_Optimizer, DeepSpeedFP16Config, settings, pattern):
    power = int(math.log2(settings["init_scale"]))
    assert 2 ** power == settings["init_scale"]
    cfg = DeepSpeedFP16Config(enabled=True, loss_scale=0, initial_scale_power=power,
                              loss_scale_window=settings["scale_window"], hysteresis=2,
                              min_loss_scale=settings["min_scale"])

    def lsc():
        return dls.LossScaleConfig(torch.float16, True, 0.0, cfg.dynamic_loss_scale_args(),
                                   profile=dls.LossScaleProfile.FUSED, initial_dynamic_scale=cfg.initial_dynamic_scale())

    # the whole optimizer
    params = [torch.nn.Parameter(torch.linspace(0.5, 1.5, 3).to(torch.float16) * (i + 1)) for i in range(2)]
    sgd = torch.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1, momentum=0.9)
    o = FP16_Optimizer(sgd, loss_scale_config=lsc(), low_precision_dtype=torch.float16, verbose=False)

    def step(inf):
        for p in params:
            p.grad = torch.ones_like(p)
        if inf:
            params[1].grad[1] = float("inf")
        snap = [p.detach().clone() for p in params]
        overflow = o.step()
        assert bool(overflow) == bool(inf)
        unchanged = all(torch.equal(a, p.detach()) for a, p in zip(snap, params))
        assert unchanged or not inf
    res = drive(step, lambda: o.loss_scale_config.cur_scale, pattern)
    # cross-check: the unbound method on a minimal self
    me = types.SimpleNamespace(loss_scale_config=lsc(), verbose=False)
    alt = drive(lambda inf: FP16_Optimizer._update_scale(me, bool(inf)), lambda: me.loss_scale_config.cur_scale,
                pattern)
    assert alt == res, (alt, res)
    return res


SCENARIOS = [  # name, init, window/interval, hysteresis, min, pattern (drive_scalers.py A-F)
    ("A", 2 ** 4, 3, 2, 1, [0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
    ("B", 2 ** 4, 3, 2, 1, [0] * 10),
    ("C", 2 ** 4, 3, 2, 1, [1] * 8 + [0] * 5),
    ("D", 2 ** 4, 3, 2, 1, [1, 0] * 6),
    ("E", 2 ** 4, 3, 1, 1, [0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
    ("F", 2 ** 4, 3, 2, 3, [1] * 7),
]
# drive_scalers.py scenario G: init 2**126 (fp32 scales) or 2**1022 (DeepSpeed's Python float), window 1
G_FP32 = ("G", 2 ** 126, 1, 2, 1, [0, 0, 0])
G_DOUBLE = ("G", 2 ** 1022, 1, 2, 1, [0, 0, 0, 0])


def random_patterns():
    out = []
    for seed in range(12):
        rng = random.Random(1000 + seed)
        pattern = [1 if rng.random() < 0.3 else 0 for _ in range(60)]
        window, hyst, k = rng.randint(1, 5), rng.randint(1, 3), rng.randint(4, 10)
        out.append((f"random{seed}", 2 ** k, window, hyst, 1, pattern))
    return out


def record_scalers():
    mgs, dls, FP16_Optimizer, DeepSpeedFP16Config, CheckOverflow = load_scalers()
    cases = []

    def add(framework, name, settings, pattern, res):
        before, after, raised = res
        # scales and factors as hex (DeepSpeed gets init/min as Python ints, as the engine passes them)
        st = {k: (H(v) if k in SCALE_KEYS else v) for k, v in settings.items()}
        cases.append({"framework": framework, "name": name, "settings": st, "found_inf": list(pattern),
                      "scale_before": [H(v) for v in before], "scale_after": [H(v) for v in after],
                      "raised_at": raised})

    rnd = random_patterns()
    for name, init, win, hyst, mn, pat in SCENARIOS + [G_FP32] + rnd:
        st = dict(init_scale=float(init), growth_factor=2.0, backoff_factor=0.5, growth_interval=win)
        add("pytorch", name, st, pat, torch_run(st, pat))
    for name, init, win, hyst, mn, pat in SCENARIOS + [G_FP32] + rnd:
        st = dict(initial_scale=float(init), min_scale=float(mn), growth_factor=2.0, backoff_factor=0.5,
                  growth_interval=win, hysteresis=hyst)
        add("megatron", name, st, pat, megatron_run(mgs, st, pat))
    for name, init, win, hyst, mn, pat in SCENARIOS + [G_DOUBLE] + rnd:
        for consec in (False, True):
            for rz in (True, False):
                # init/min as the engine passes them: 2**initial_scale_power and min_loss_scale are ints
                st = dict(init_scale=init, scale_window=win, min_scale=mn, delayed_shift=hyst,
                          consecutive_hysteresis=consec, raise_error_at_min_scale=rz)
                add("deepspeed", name, st, pat, deepspeed_run(dls, CheckOverflow, st, pat))
    for name, init, win, hyst, mn, pat in SCENARIOS + [G_DOUBLE] + rnd:
        st = dict(init_scale=init, scale_window=win, min_scale=mn)
        add("deepspeed-fp16", name, st, pat, ds_fp16_run(dls, FP16_Optimizer, DeepSpeedFP16Config, st, pat))

    src = (f"torch {torch.__version__} torch.amp.GradScaler('cpu'); megatron-core {version('megatron-core')} "
           f"DynamicGradScaler; deepspeed {version('deepspeed')} DynamicLossScaler and FP16_Optimizer; "
           f"each driving torch.optim.SGD(momentum=0.9)")
    notes = ("scale_before[i]: scale in force when update i is attempted; scale_after[i]: scale after it. "
             "raised_at = i if update i raised (DeepSpeed DynamicLossScaler at min_scale): then scale_before has i+1 "
             "entries and scale_after i. Scenarios A-G are drive_scalers.py's; randomN: seeded patterns shared "
             "by all frameworks. init_scale/initial_scale/min_scale/growth_factor/backoff_factor are hex floats.")
    dump("scaler_rules", {"source": src, "torch": torch.__version__, "megatron-core": version("megatron-core"),
                          "deepspeed": version("deepspeed"), "notes": notes, "cases": cases})
    return cases


if __name__ == "__main__":
    t = record_timm()
    h = record_transformers()
    s = record_scalers()
    print(f"wrote {OUT}: timm {len(t)} cases, transformers {len(h)} cases, scalers {len(s)} cases")
