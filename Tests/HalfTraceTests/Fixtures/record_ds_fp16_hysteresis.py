"""Records how DeepSpeed's non-ZeRO fp16 optimizers (FP16_Optimizer in runtime/fp16/fused_optimizer.py and
FP16_UnfusedOptimizer in runtime/fp16/unfused_optimizer.py) move the loss scale when the fp16 config sets
`hysteresis` and `consecutive_hysteresis`: ds_fp16_hysteresis.json, next to this script (or in out_dir).

Why: every DeepSpeed release up to and including 0.19.8 (the newest on PyPI when this was written) drops
`delayed_shift` / `consecutive_hysteresis` when it builds LossScaleConfig (loss_scaler.py:122-124 in 0.19.8),
and `_update_scale` (fused_optimizer.py:404-429, unfused_optimizer.py:277-302) halves the scale at every
overflow. Newer DeepSpeed tests (TestZeroStage0Hysteresis in tests/unit/runtime/half_precision/
test_dynamic_loss_scale.py) expect both optimizers to honour them. Each run records the deepspeed version it
ran with and whether that version passes those tests (`upstream_test_probe`), so the same script records the
old rule now and the new one once a release has it.

Setup (CPU only, no GPU, no compiled ops; a few seconds per version). One venv per deepspeed version:

    python3 -m venv /work/venvs/dsnew
    /work/venvs/dsnew/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
    DS_BUILD_OPS=0 /work/venvs/dsnew/bin/pip install deepspeed==<version>
    OMP_NUM_THREADS=1 /work/venvs/dsnew/bin/python Tests/HalfTraceTests/Fixtures/record_ds_fp16_hysteresis.py [out_dir]

(the record_families.py venv, /work/venvs/families, has deepspeed 0.19.8 and can be used for that version).
A run replaces the entry of its own deepspeed version in `runs` and keeps the others, so run it once per
version. The file is written to a temporary file and renamed. Nothing depends on time or unseeded randomness.

What runs: the real optimizers, each wrapping a real torch.optim.SGD(momentum 0.9) over two fp16 parameter
groups, with the LossScaleConfig built as DeepSpeedEngine._configure_fp16_optimizer builds it from a real
DeepSpeedFP16Config(enabled, loss_scale=0, initial_scale_power, loss_scale_window, hysteresis,
consecutive_hysteresis, min_loss_scale) (profile FUSED for FP16_Optimizer with initial_dynamic_scale =
2**initial_scale_power, UNFUSED for FP16_UnfusedOptimizer with None). Each step sets every fp16 gradient to
ones, or puts +inf in one element on overflow steps, and calls the optimizer's own step() (overflow check,
_update_scale, unscale, inner step). Stubbed: `dist` in unfused_optimizer.py and loss_scaler.py is replaced by
an object whose get_rank() returns 0 (the unfused constructor and the log messages call it; no process group
exists). `skipped` is whether the inner SGD.step ran (counted by wrapping it), checked against step()'s
return value; on skipped steps the fp16 parameters must be unchanged. As a cross-check the unbound
_update_scale is also run on a fresh optimizer for the same pattern (only scale updates, no step) and must
give the same scales.

Case layout (as scaler_rules.json, plus per-step flags): framework "deepspeed-fp16"; optimizer; name
(<scenario>_h<hysteresis>_<plain|consec>); settings {init_scale, min_scale (hex floats), scale_window,
delayed_shift (= fp16 hysteresis), consecutive_hysteresis}; found_inf (the pattern); overflow[i] (step()'s
return); skipped[i]; scale_before[i] (scale when step i starts); scale_after[i]; raised_at (null: these
optimizers never raise at the minimum; if a step raised "... minimum ...", its index: scale_before then has
raised_at + 1 entries and the other lists raised_at).
Scenarios A-G and random0-3 are record_families.py's (same patterns, init, window, min; the scenario's own
hysteresis is replaced by 1, 2 and 3).
"""
import json, logging, math, os, random, sys, tempfile, types, warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore")

import torch

OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
NAME = "ds_fp16_hysteresis.json"
H = lambda v: float(v).hex()
torch.manual_seed(0)

SCENARIOS = [  # name, init, window, (hysteresis: replaced), min, pattern -- record_families.py's
    ("A", 2 ** 4, 3, 2, 1, [0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
    ("B", 2 ** 4, 3, 2, 1, [0] * 10),
    ("C", 2 ** 4, 3, 2, 1, [1] * 8 + [0] * 5),
    ("D", 2 ** 4, 3, 2, 1, [1, 0] * 6),
    ("E", 2 ** 4, 3, 1, 1, [0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0]),
    ("F", 2 ** 4, 3, 2, 3, [1] * 7),
    ("G", 2 ** 1022, 1, 2, 1, [0, 0, 0, 0]),
]


def random_patterns(n):
    out = []
    for seed in range(n):  # record_families.random_patterns, first n
        rng = random.Random(1000 + seed)
        pattern = [1 if rng.random() < 0.3 else 0 for _ in range(60)]
        window, hyst, k = rng.randint(1, 5), rng.randint(1, 3), rng.randint(4, 10)
        out.append((f"random{seed}", 2 ** k, window, hyst, 1, pattern))
    return out


def version(pkg):
    from importlib.metadata import version as v
    return v(pkg)


def load():
    logging.disable(logging.CRITICAL)
    import deepspeed.runtime.fp16.loss_scaler as dls
    import deepspeed.runtime.fp16.unfused_optimizer as duo
    from deepspeed.runtime.fp16.fused_optimizer import FP16_Optimizer
    from deepspeed.runtime.precision_config import DeepSpeedFP16Config
    stub = types.SimpleNamespace(get_rank=lambda *a, **k: 0)
    dls.dist = stub
    duo.dist = stub
    return dls, FP16_Optimizer, duo.FP16_UnfusedOptimizer, DeepSpeedFP16Config


def make(dls, cls, Fused, Cfg, params, **fp16):
    cfg = Cfg(enabled=True, loss_scale=0, **fp16)
    fused = cls is Fused
    lsc = dls.LossScaleConfig(torch.float16, True, 0.0, cfg.dynamic_loss_scale_args(),
                              profile=dls.LossScaleProfile.FUSED if fused else dls.LossScaleProfile.UNFUSED,
                              initial_dynamic_scale=cfg.initial_dynamic_scale() if fused else None)
    sgd = torch.optim.SGD([{"params": [params[0]]}, {"params": [params[1]], "lr": 0.05}], lr=0.1, momentum=0.9)
    return cls(sgd, loss_scale_config=lsc, low_precision_dtype=torch.float16, verbose=False), sgd


def run_case(dls, cls, Fused, Cfg, fp16, pattern):
    params = [torch.nn.Parameter(torch.linspace(0.5, 1.5, 3).to(torch.float16) * (i + 1)) for i in range(2)]
    o, sgd = make(dls, cls, Fused, Cfg, params, **fp16)
    inner_steps = [0]
    real_step = sgd.step

    def counted_step(*a, **k):
        inner_steps[0] += 1
        return real_step(*a, **k)

    sgd.step = counted_step
    before, after, overflow, skipped, raised = [], [], [], [], None
    for i, inf in enumerate(pattern):
        before.append(o.loss_scale_config.cur_scale)
        for p in params:
            p.grad = torch.ones_like(p)
        if inf:
            params[1].grad[1] = float("inf")
        snap = [p.detach().clone() for p in params]
        n0 = inner_steps[0]
        try:
            ov = bool(o.step())
        except Exception as e:  # none expected: these optimizers clamp at the minimum
            if "minimum" not in str(e):
                raise
            raised = i
            break
        sk = inner_steps[0] == n0
        assert ov == bool(inf), (cls.__name__, i, ov, inf)
        assert sk == ov, (cls.__name__, i, sk, ov)
        if sk:
            assert all(torch.equal(a, p.detach()) for a, p in zip(snap, params))
        overflow.append(ov)
        skipped.append(sk)
        after.append(o.loss_scale_config.cur_scale)
    # cross-check: the real _update_scale alone, on a fresh optimizer
    o2, _ = make(dls, cls, Fused, Cfg, [torch.nn.Parameter(torch.zeros(3, dtype=torch.float16)) for _ in range(2)],
                 **fp16)
    alt = []
    for inf in pattern[:len(after)]:
        cls._update_scale(o2, bool(inf))
        alt.append(o2.loss_scale_config.cur_scale)
    assert alt == after, (cls.__name__, alt, after)
    return before, after, overflow, skipped, raised


def upstream_probe(dls, cls, Fused, Cfg):
    """The bodies of TestZeroStage0Hysteresis.test_hysteresis / test_consecutive_hysteresis."""
    def opt(**kw):
        return make(dls, cls, Fused, Cfg, [torch.nn.Parameter(torch.zeros(4, dtype=torch.float16)) for _ in range(2)],
                    initial_scale_power=8, **kw)[0]
    o = opt(hysteresis=3)
    scales = []
    for _ in range(4):
        cls._update_scale(o, True)
        scales.append(o.loss_scale_config.cur_scale)
    o2 = opt(hysteresis=2, consecutive_hysteresis=True)
    for _ in range(4):
        cls._update_scale(o2, True)
        cls._update_scale(o2, False)
    return {"hysteresis3_four_overflows": [H(s) for s in scales],
            "hysteresis3_expected": [H(s) for s in (2 ** 8, 2 ** 8, 2 ** 7, 2 ** 6)],
            "consecutive2_overflow_clean_x4_final": H(o2.loss_scale_config.cur_scale),
            "consecutive2_expected": H(2 ** 8),
            "has_cur_hysteresis": hasattr(o.loss_scale_config, "cur_hysteresis"),
            "passes": scales == [2 ** 8, 2 ** 8, 2 ** 7, 2 ** 6] and o2.loss_scale_config.cur_scale == 2 ** 8}


def record():
    dls, Fused, Unfused, Cfg = load()
    cases, probe = [], {}
    for cls in (Fused, Unfused):
        probe[cls.__name__] = upstream_probe(dls, cls, Fused, Cfg)
        for name, init, win, _, mn, pat in SCENARIOS + random_patterns(4):
            power = int(math.log2(init))
            assert 2 ** power == init
            for hyst in (1, 2, 3):
                for consec in (False, True):
                    fp16 = dict(initial_scale_power=power, loss_scale_window=win, hysteresis=hyst,
                                consecutive_hysteresis=consec, min_loss_scale=mn)
                    before, after, ov, sk, raised = run_case(dls, cls, Fused, Cfg, fp16, pat)
                    cases.append({"framework": "deepspeed-fp16", "optimizer": cls.__name__,
                                  "name": f"{name}_h{hyst}_{'consec' if consec else 'plain'}",
                                  "settings": {"init_scale": H(init), "scale_window": win, "min_scale": H(mn),
                                               "delayed_shift": hyst, "consecutive_hysteresis": consec},
                                  "found_inf": list(pat), "overflow": ov, "skipped": sk,
                                  "scale_before": [H(v) for v in before], "scale_after": [H(v) for v in after],
                                  "raised_at": raised})
    honours = all(p["passes"] for p in probe.values())
    ds = version("deepspeed")
    run = {"deepspeed": ds, "torch": torch.__version__, "honours_hysteresis": honours,
           "source": (f"deepspeed {ds} FP16_Optimizer and FP16_UnfusedOptimizer (real step()), "
                      f"torch.optim.SGD(momentum=0.9), torch {torch.__version__}, CPU"),
           "upstream_test_probe": probe, "cases": cases}
    path = OUT / NAME
    runs = []
    if path.exists():
        with open(path) as f:
            runs = [r for r in json.load(f).get("runs", []) if r.get("deepspeed") != ds]
    runs.append(run)
    runs.sort(key=lambda r: tuple(int(x) if x.isdigit() else x for x in r["deepspeed"].split(".")))
    obj = {"generator": "record_ds_fp16_hysteresis.py",
           "notes": ("One run per deepspeed version. scale_before[i]: scale when step i starts; scale_after[i]: after "
                     "it; overflow[i]: step()'s return; skipped[i]: the inner SGD.step did not run. settings."
                     "delayed_shift is the fp16 config's hysteresis. init_scale/min_scale and all scales are hex "
                     "floats. honours_hysteresis: the version passes TestZeroStage0Hysteresis's two rule tests "
                     "(upstream_test_probe) for both optimizers."),
           "runs": runs}
    fd, tmp = tempfile.mkstemp(prefix=".ds_fp16_hysteresis.", suffix=".json", dir=OUT)
    with os.fdopen(fd, "w") as f:
        json.dump(obj, f, indent=0)
        f.write("\n")
    os.replace(tmp, path)
    return run


if __name__ == "__main__":
    r = record()
    print(f"wrote {OUT / NAME}: deepspeed {r['deepspeed']}, {len(r['cases'])} cases, "
          f"honours_hysteresis={r['honours_hysteresis']}")
