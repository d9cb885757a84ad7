"""Reference fixtures from NumPy and PyTorch for HalfTrace's differential tests.

yolov5_warmup.json is a *replay*: train.py's warm-up block transcribed here and run with torch's
SGD, LambdaLR and np.interp, in 7 configurations (lag, one-cycle, odd batch sizes). The real YOLOv5
and Ultralytics packages are recorded by record_real.py (real/), which the tests also use.

Run from a virtual environment outside the repository that has torch and numpy
(PyTorch is never a dependency of HalfTrace):
    python3 Tests/HalfTraceTests/Fixtures/make_fixtures.py Tests/HalfTraceTests/Fixtures
Every float is written with float.hex() so that it parses back exactly.
"""
import json, math, random, sys
import numpy as np
import torch

out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
H = lambda v: float(v).hex()
torch.set_default_dtype(torch.float64)


def dump(name, obj):
    obj = {"generator": "make_fixtures.py", "torch": torch.__version__, "numpy": np.__version__, **obj}
    with open(f"{out_dir}/{name}.json", "w") as f:
        json.dump(obj, f, indent=0)


# ---- numpy.interp ----
rng = random.Random(7)
cases = [{"xp": [1, 2, 3, 4, 5], "fp": [3, 5, 7, 9, 11], "x": [0, 1.5, 3, 4.5, 6]},
         {"xp": [0, 300], "fp": [0.1, 0.01], "x": [299, 0, 300, 150, 1e-9, 299.5]},
         {"xp": [0, 1, 1, 2], "fp": [0, 5, 7, 9], "x": [1, 0.5, 1.5, -1, 3, float("nan")]},
         {"xp": [1.0], "fp": [5.0], "x": [0.5, 1.0, 2.0, float("nan")]},
         {"xp": [0, 1], "fp": [0, float("inf")], "x": [0.5, 0, 1]}]
for _ in range(40):
    n = rng.randint(2, 9)
    xp = sorted(rng.uniform(-5, 5) for _ in range(n))
    if rng.random() < 0.3:
        xp[rng.randint(1, n - 1)] = xp[rng.randint(0, n - 2)]
        xp.sort()
    fp = [rng.uniform(-3, 3) for _ in range(n)]
    x = [rng.uniform(-6, 6) for _ in range(20)] + [xp[rng.randint(0, n - 1)] for _ in range(4)]
    cases.append({"xp": xp, "fp": fp, "x": x})
for c in cases:
    c["y"] = [H(v) for v in np.interp(np.array(c["x"], float), np.array(c["xp"], float), np.array(c["fp"], float))]
    for k in ("xp", "fp", "x"):
        c[k] = [H(v) for v in c[k]]
dump("numpy_interp", {"cases": cases})


# ---- CosineAnnealingWarmRestarts ----
def sgdr_run(t0, tmult, eta_min, lr, epochs, spe):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    s = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=t0, T_mult=tmult, eta_min=eta_min)
    rows = []
    for e in range(epochs):
        for i in range(spe):
            ep = e + i / spe
            s.step(ep)
            rows.append([H(ep), H(opt.param_groups[0]["lr"])])
    # the same schedule stepped with step() (no epoch) from a fresh scheduler
    p2 = torch.nn.Parameter(torch.zeros(1))
    opt2 = torch.optim.SGD([p2], lr=lr)
    s2 = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt2, T_0=t0, T_mult=tmult, eta_min=eta_min)
    plain = [H(opt2.param_groups[0]["lr"])]
    for _ in range(epochs - 1):
        s2.step()
        plain.append(H(opt2.param_groups[0]["lr"]))
    return {"t0": t0, "t_mult": tmult, "eta_min": H(eta_min), "lr": H(lr), "epochs": epochs,
            "steps_per_epoch": spe, "rows": rows, "plain_step": plain}

sgdr = [sgdr_run(10, 2, 0.0, 0.001, 150, 1), sgdr_run(10, 2, 0.0, 0.001, 150, 7),
        sgdr_run(1, 3, 0.0, 0.1, 130, 1), sgdr_run(1, 10, 1e-4, 0.1, 120, 1),
        sgdr_run(3, 3, 0.0, 0.1, 370, 1), sgdr_run(5, 10, 0.0, 0.05, 560, 1),
        sgdr_run(7, 3, 0.001, 0.1, 850, 1), sgdr_run(4, 1, 0.01, 0.2, 50, 3),
        sgdr_run(2, 2, 0.0, 1.0, 70, 4)]
dump("torch_sgdr", {"runs": sgdr})


# ---- LambdaLR with YOLOv5's multipliers ----
def one_cycle(y1=0.0, y2=1.0, steps=100):
    return lambda x: ((1 - math.cos(x * math.pi / steps)) / 2) * (y2 - y1) + y1

lambda_runs = []
for cos_lr, epochs, lrf, lr0 in [(True, 100, 0.1, 0.01), (False, 100, 0.1, 0.01), (True, 300, 0.01, 0.01), (False, 30, 0.01, 0.02)]:
    lf = one_cycle(1, lrf, epochs) if cos_lr else (lambda x, e=epochs, f=lrf: (1 - x / e) * (1.0 - f) + f)
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr0)
    s = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lf)
    lrs = []
    for e in range(epochs):
        lrs.append(H(opt.param_groups[0]["lr"]))
        s.step()
    lambda_runs.append({"cos_lr": cos_lr, "epochs": epochs, "lrf": H(lrf), "lr0": H(lr0), "lr": lrs})
dump("torch_lambda", {"runs": lambda_runs})


# ---- YOLOv5 v7.0 train.py warm-up, replayed with torch SGD groups, LambdaLR and np.interp ----
def yolov5_warmup(epochs, nb, batch_size, nbs, hyp, cos_lr, lag):
    accumulate = max(round(nbs / batch_size), 1)
    hyp = dict(hyp)
    hyp["weight_decay"] *= batch_size * accumulate / nbs
    g = [torch.nn.Parameter(torch.zeros(1)) for _ in range(3)]
    opt = torch.optim.SGD([g[2]], lr=hyp["lr0"], momentum=hyp["momentum"], nesterov=True)
    opt.add_param_group({"params": [g[0]], "weight_decay": hyp["weight_decay"]})
    opt.add_param_group({"params": [g[1]], "weight_decay": 0.0})
    lf = one_cycle(1, hyp["lrf"], epochs) if cos_lr else (lambda x: (1 - x / epochs) * (1.0 - hyp["lrf"]) + hyp["lrf"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda=lf)
    if lag:
        scheduler.last_epoch = 0 - 1
    nw = max(round(hyp["warmup_epochs"] * nb), 100)
    rows = []
    for epoch in range(epochs):
        for i in range(nb):
            ni = i + nb * epoch
            if ni <= nw:
                xi = [0, nw]
                accumulate = max(1, np.interp(ni, xi, [1, nbs / batch_size]).round())
                for j, x in enumerate(opt.param_groups):
                    x["lr"] = np.interp(ni, xi, [hyp["warmup_bias_lr"] if j == 0 else 0.0, x["initial_lr"] * lf(epoch)])
                    if "momentum" in x:
                        x["momentum"] = np.interp(ni, xi, [hyp["warmup_momentum"], hyp["momentum"]])
            pg = opt.param_groups
            rows.append([ni, epoch, H(pg[0]["lr"]), H(pg[1]["lr"]), H(pg[2]["lr"]), H(pg[1]["momentum"]), int(accumulate)])
        scheduler.step()
    return {"epochs": epochs, "nb": nb, "batch_size": batch_size, "nbs": nbs, "cos_lr": cos_lr, "lag": lag,
            "hyp": {k: H(v) for k, v in hyp.items()}, "weight_decay_scaled": H(opt.param_groups[1]["weight_decay"]),
            "rows": rows}

low = {"lr0": 0.01, "lrf": 0.01, "momentum": 0.937, "weight_decay": 0.0005, "warmup_epochs": 3.0,
       "warmup_momentum": 0.8, "warmup_bias_lr": 0.1}
odd = dict(low, lr0=0.02, lrf=0.2, warmup_epochs=0.5, warmup_bias_lr=0.05)
warm = [yolov5_warmup(10, 24, 16, 64, low, False, False), yolov5_warmup(10, 24, 16, 64, low, False, True),
        yolov5_warmup(10, 24, 16, 64, low, True, False), yolov5_warmup(12, 30, 24, 64, low, True, True),
        yolov5_warmup(8, 7, 24, 64, odd, False, False), yolov5_warmup(4, 100, 16, 64, dict(low, warmup_epochs=3.0), False, False),
        yolov5_warmup(5, 150, 10, 64, low, False, True)]
for w in warm:
    w["hyp"]["weight_decay"] = H(low["weight_decay"] if w["hyp"]["lr0"] == H(0.01) else odd["weight_decay"])
dump("yolov5_warmup", {"runs": warm})


# ---- optimizers on f(w) = 0.5 * sum(a * w^2), float64 ----
def quad(kind, a, w0, steps, **kw):
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    at = torch.tensor(a, dtype=torch.float64)
    opt = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]([w], **kw)
    rows = []
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (at * w * w).sum()).backward()
        opt.step()
        rows.append([H(v) for v in w.detach().tolist()])
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
    return {"kind": kind, "a": [H(v) for v in a], "w0": [H(v) for v in w0], "steps": steps, "options": kw, "rows": rows}

a = [1.0, 10.0, 0.3, 2.5, 7.0, 0.05, 1.7, 4.2, 0.9]
w0 = [1.0, -1.0, 2.0, 0.5, -0.25, 3.0, -1.5, 0.75, 1.25]
opt_runs = [quad("sgd", a, w0, 200, lr=0.01),
            quad("sgd", a, w0, 200, lr=0.02, momentum=0.9),
            quad("sgd", a, w0, 200, lr=0.01, momentum=0.937, nesterov=True, weight_decay=5e-4),
            quad("sgd", a, w0, 200, lr=0.03, momentum=0.5, dampening=0.3, weight_decay=0.01),
            quad("adam", a, w0, 300, lr=0.01),
            quad("adam", a, w0, 300, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
            quad("adam", a, w0, 300, lr=0.01, betas=(0.3, 0.9)),
            quad("adamw", a, w0, 300, lr=0.01),
            quad("adamw", a, w0, 300, lr=0.02, betas=(0.937, 0.999), weight_decay=0.05)]


# One-step replay: PyTorch's own state before and after each Adam step, and its sqrt(v), so
# that a test can check the update arithmetic element by element.
def adam_replay(kind, a, w0, steps, **kw):
    w = torch.nn.Parameter(torch.tensor(w0, dtype=torch.float64))
    at = torch.tensor(a, dtype=torch.float64)
    opt = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}[kind]([w], **kw)
    rows = []
    for t in range(1, steps + 1):
        opt.zero_grad()
        (0.5 * (at * w * w).sum()).backward()
        st = opt.state.get(w, {})
        zeros = [0.0] * len(a)
        before = [w.detach().tolist(), w.grad.tolist(),
                  st["exp_avg"].tolist() if st else zeros, st["exp_avg_sq"].tolist() if st else zeros]
        opt.step()
        st = opt.state[w]
        after = [w.detach().tolist(), st["exp_avg"].tolist(), st["exp_avg_sq"].tolist(), st["exp_avg_sq"].sqrt().tolist()]
        rows.append([[H(v) for v in vec] for vec in before + after])
    kw = {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}
    return {"kind": kind, "options": kw, "rows": rows}

replays = [adam_replay("adam", a, w0, 120, lr=0.01, betas=(0.3, 0.9)),
           adam_replay("adam", a, w0, 120, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
           adam_replay("adamw", a, w0, 120, lr=0.02, betas=(0.937, 0.999), weight_decay=0.05)]
dump("torch_optimizers", {"runs": opt_runs, "adam_replays": replays})


# ---- torch.amp.GradScaler on CPU ----
def scaler_run(steps, inf_steps, accumulate=1, finite_grad=1.0, **kw):
    p = torch.nn.Parameter(torch.zeros(4, dtype=torch.float32))
    opt = torch.optim.SGD([p], lr=0.1)
    scaler = torch.amp.GradScaler("cpu", **kw)
    rows = []
    for step in range(steps):
        before = scaler.get_scale()
        for _ in range(accumulate):
            bad = step in inf_steps
            # d(loss)/dp = grad; the scaled gradient is grad * scale
            grad = torch.full((4,), float("inf") if bad else finite_grad, dtype=torch.float32)
            loss = (p * grad.nan_to_num(posinf=1.0)).sum()
            scaler.scale(loss).backward()
            if bad:
                p.grad[1] = float("inf")
        params_before = p.detach().clone()
        scaler.step(opt)
        found = bool(sum(v.item() for v in scaler._found_inf_per_device(opt).values()) > 0)
        skipped = bool(torch.equal(params_before, p.detach()))
        scaler.update()
        opt.zero_grad()
        rows.append([step, H(before), int(found), int(skipped), H(scaler.get_scale()), int(scaler._growth_tracker.item()),
                     [H(v) for v in p.detach().tolist()]])
    return {"steps": steps, "inf_steps": sorted(inf_steps), "accumulate": accumulate, "finite_grad": H(finite_grad),
            "options": kw, "rows": rows}

scaler_runs = [scaler_run(8, {4}, init_scale=4.0, growth_interval=3),
               scaler_run(40, {0, 1, 5, 6, 20}, init_scale=65536.0, growth_interval=4),
               scaler_run(30, {3, 4, 9}, accumulate=3, init_scale=1024.0, growth_factor=3.0, backoff_factor=0.25, growth_interval=2),
               scaler_run(12, set(), init_scale=3.0e38, growth_interval=1),
               scaler_run(150, set(range(145)), init_scale=65536.0, growth_interval=2000)]
dump("torch_gradscaler", {"runs": scaler_runs})
print("fixtures written to", out_dir)
