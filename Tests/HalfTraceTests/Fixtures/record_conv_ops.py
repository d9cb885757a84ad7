"""Records differential fixtures for HalfTrace's conv / batch-norm / SiLU / pool / upsample ops
from the real PyTorch (never a dependency of HalfTrace). Run from a virtual environment outside
the repository:

    python3 -m venv /work/venvs/torch
    /work/venvs/torch/bin/pip install torch numpy     # recorded with the CPU wheel torch 2.13.0+cpu
    OMP_NUM_THREADS=1 /work/venvs/torch/bin/python Tests/HalfTraceTests/Fixtures/record_conv_ops.py

(`pip install torch` picks the newest torch on PyPI; to get the CPU wheel the JSON was recorded
with, install it by file: `pip install /opt/wheels/torch-2.13.0+cpu-*.whl numpy`.)

It writes Tests/HalfTraceTests/Fixtures/torch_conv_ops.json, byte-identical on every run
(seeded NumPy generators, one thread). The JSON records torch's version.

Layout: every tensor is in PyTorch's own layout (NCHW activations, [O, C, kh, kw] conv weights),
flattened row-major into a JSON array, its shape given alongside. Floats are written exactly:
each float32 / float64 value becomes a Python float (exact) written with repr, so a reader
recovers the float32 bits exactly; non-finite values are the strings "nan", "inf", "-inf".
Gradients are those of (y * gy).sum() for a recorded upstream gradient gy.

Exactness: every input (x, weights, biases, gy, BN affine params) is a multiple of 1/64 in
[-2, 2] (k/64 with integer |k| <= 128). Such values are exact in float16 and bfloat16, their
products are multiples of 2^-12 below 4 in magnitude, and the tensors are small enough (sums of
at most a few hundred terms, |sum| < 2^12) that every product and every partial sum of conv,
max-pool and nearest upsample, forward and backward, is exact in float32: the results do not
depend on the order a library sums in. The script proves it for each conv case by asserting that
the float32 result equals the float64 result from the same inputs bit for bit (for the float64
case, that it equals the float32 result); it stops with an error if not. Batch norm and SiLU
involve division / sqrt / exp and are not exact: those are torch's own float32 / float64 results.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)
OUT = Path(__file__).resolve().parent / "torch_conv_ops.json"
DTYPES = {"float32": torch.float32, "float64": torch.float64}


# ---------------------------------------------------------------- helpers

def grid(rng, shape, dtype="float32"):
    """Multiples of 1/64 in [-2, 2], exact in float16 / bfloat16 / float32 / float64."""
    k = rng.integers(-128, 129, size=shape)
    return torch.tensor(k / 64.0, dtype=DTYPES[dtype])


def enc(v):
    """A Python float written exactly by json (repr); non-finite values as strings."""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def flat(t):
    """A tensor flattened row-major (contiguous NCHW order) into a JSON list."""
    if t is None:
        return None
    return [enc(v) for v in t.detach().reshape(-1).tolist()]


def grads_of(y, gy, *leaves):
    """Gradients of (y * gy).sum() with respect to the leaves (None for a None leaf)."""
    live = [t for t in leaves if t is not None]
    gs = iter(torch.autograd.grad((y * gy).sum(), live))
    return [None if t is None else next(gs) for t in leaves]


def same_bits(a, b):
    if a is None or b is None:
        return a is None and b is None
    return torch.equal(a.double(), b.double())


# ---------------------------------------------------------------- conv2d

def conv_run(x, w, b, gy, stride, padding, dtype):
    t = DTYPES[dtype]
    x = x.to(t).requires_grad_()
    w = w.to(t).requires_grad_()
    b = None if b is None else b.to(t).requires_grad_()
    y = F.conv2d(x, w, b, stride=stride, padding=padding)
    gx, gw, gb = grads_of(y, gy.to(t), x, w, b)
    return y.detach(), gx, gw, gb


def conv_case(name, seed, N, C, H, W, O, k, stride, padding, has_bias=True, dtype="float32"):
    rng = np.random.default_rng(seed)
    x = grid(rng, (N, C, H, W), dtype)
    w = grid(rng, (O, C, k, k), dtype)
    b = grid(rng, (O,), dtype) if has_bias else None
    Ho = (H + 2 * padding - k) // stride + 1
    Wo = (W + 2 * padding - k) // stride + 1
    gy = grid(rng, (N, O, Ho, Wo), dtype)
    res = conv_run(x, w, b, gy, stride, padding, dtype)
    other = conv_run(x, w, b, gy, stride, padding, "float64" if dtype == "float32" else "float32")
    for label, a, c in zip(["y", "gx", "gw", "gb"], res, other):
        if not same_bits(a, c):
            raise SystemExit(f"conv2d {name}: {label} differs between float32 and float64: not exact")
    y, gx, gw, gb = res
    assert list(y.shape) == [N, O, Ho, Wo]
    return {"name": name, "dtype": dtype, "N": N, "C": C, "H": H, "W": W, "O": O, "k": k,
            "stride": stride, "padding": padding, "has_bias": has_bias,
            "x": flat(x), "weight": flat(w), "bias": flat(b), "gy": flat(gy),
            "y_shape": list(y.shape), "y": flat(y), "gx": flat(gx), "gw": flat(gw), "gb": flat(gb)}


def conv_cases():
    return [
        conv_case("k1s1p0_bias", 101, N=2, C=3, H=4, W=5, O=4, k=1, stride=1, padding=0),
        conv_case("k1s1p0_nobias", 102, N=2, C=3, H=4, W=5, O=4, k=1, stride=1, padding=0, has_bias=False),
        conv_case("k3s1p1", 103, N=2, C=3, H=5, W=5, O=4, k=3, stride=1, padding=1),
        conv_case("k3s2p1_7x9", 104, N=2, C=3, H=7, W=9, O=4, k=3, stride=2, padding=1),
        conv_case("k6s2p2_c3_yolov5_stem", 105, N=2, C=3, H=10, W=9, O=4, k=6, stride=2, padding=2),
        conv_case("k3s2p0_7x8", 106, N=1, C=2, H=7, W=8, O=3, k=3, stride=2, padding=0),
        conv_case("k1_n3c5o6", 107, N=3, C=5, H=3, W=4, O=6, k=1, stride=1, padding=0),
        conv_case("k3s1p1_5x8", 108, N=2, C=3, H=5, W=8, O=4, k=3, stride=1, padding=1),
        conv_case("k3s2p1_6x7_float64", 109, N=2, C=3, H=6, W=7, O=4, k=3, stride=2, padding=1, dtype="float64"),
    ]


# ---------------------------------------------------------------- batch norm

def bn_case(name, seed, N, C, H, W, dtype="float32", constant_channel=None):
    """nn.BatchNorm2d(eps=1e-3, momentum=0.03): 3 training steps, then one eval step."""
    t = DTYPES[dtype]
    rng = np.random.default_rng(seed)
    m = nn.BatchNorm2d(C, eps=1e-3, momentum=0.03).to(t)
    weight, bias = grid(rng, (C,), dtype), grid(rng, (C,), dtype)
    with torch.no_grad():
        m.weight.copy_(weight)
        m.bias.copy_(bias)

    def draw():
        x = grid(rng, (N, C, H, W), dtype)
        if constant_channel is not None:
            x[:, constant_channel] = 0.75  # variance 0 in this channel
        return x, grid(rng, (N, C, H, W), dtype)

    def step(x, gy):
        m.weight.grad = m.bias.grad = None
        xr = x.clone().requires_grad_()
        y = m(xr)
        (y * gy).sum().backward()
        return {"x": flat(x), "gy": flat(gy), "y": flat(y), "gx": flat(xr.grad),
                "gw": flat(m.weight.grad), "gb": flat(m.bias.grad)}

    m.train()
    steps = []
    for _ in range(3):
        s = step(*draw())
        s.update(running_mean=flat(m.running_mean), running_var=flat(m.running_var),
                 num_batches_tracked=int(m.num_batches_tracked))
        steps.append(s)
    m.eval()
    ev = step(*draw())
    return {"name": name, "dtype": dtype, "N": N, "C": C, "H": H, "W": W, "eps": 1e-3, "momentum": 0.03,
            "weight": flat(weight), "bias": flat(bias), "steps": steps, "eval": ev}


def bn_single_value_case():
    """Training with N*H*W == 1: nn.BatchNorm2d refuses (a Python-level check in F.batch_norm)."""
    rng = np.random.default_rng(204)
    m = nn.BatchNorm2d(3, eps=1e-3, momentum=0.03)
    x = grid(rng, (1, 3, 1, 1))
    try:
        m(x)
        error = None
    except Exception as e:  # noqa: BLE001 - the message is the fixture
        error = f"{type(e).__name__}: {e}"
    # What the ATen kernel itself does without that check (torch.batch_norm skips it).
    rm, rv = torch.zeros(3), torch.ones(3)
    w, b = grid(rng, (3,)), grid(rng, (3,))
    y = torch.batch_norm(x, w, b, rm, rv, True, 0.03, 1e-3, False)
    return {"name": "train_NHW_1", "dtype": "float32", "N": 1, "C": 3, "H": 1, "W": 1,
            "error": error,
            "aten_without_check": {"x": flat(x), "weight": flat(w), "bias": flat(b), "y": flat(y),
                                   "running_mean": flat(rm), "running_var": flat(rv)}}


def bn_cases():
    return [
        bn_case("n2c3h4w5", 201, N=2, C=3, H=4, W=5),
        bn_case("n4c2h3w3_constant_channel1", 202, N=4, C=2, H=3, W=3, constant_channel=1),
        bn_case("n2c3h3w4_float64", 203, N=2, C=3, H=3, W=4, dtype="float64"),
        bn_single_value_case(),
    ]


# ---------------------------------------------------------------- SiLU

SILU_SPECIAL = [0.0, -0.0, 1e-8, -1e-8, 0.5, -0.5, 1.0, -1.0, 5.0, -5.0, 10.0, -10.0, 20.0, -20.0,
                40.0, -40.0, 88.0, -88.0, 89.0, -89.0, 100.0, -100.0, 1e4, -1e4,
                float("inf"), float("-inf"), float("nan")]


def silu_case(dtype, seed):
    t = DTYPES[dtype]
    rng = np.random.default_rng(seed)
    x = torch.cat([torch.tensor(SILU_SPECIAL, dtype=t), grid(rng, (50,), dtype)])
    gy = grid(rng, (x.numel(),), dtype)
    xr = x.clone().requires_grad_()
    y = F.silu(xr)
    (gx,) = grads_of(y, gy, xr)
    return {"dtype": dtype, "x": flat(x), "gy": flat(gy), "y": flat(y), "gx": flat(gx)}


# ---------------------------------------------------------------- max pool

def window_argmax_gx(x, gy, k, s, p, last):
    """gx if each window's gradient went to its first (last=False) or last (last=True) maximum
    in row-major window order (padding excluded)."""
    N, C, H, W = x.shape
    _, _, Ho, Wo = gy.shape
    gx = torch.zeros_like(x, dtype=torch.float64)
    for n in range(N):
        for c in range(C):
            for i in range(Ho):
                for j in range(Wo):
                    best = None
                    for a in range(i * s - p, i * s - p + k):
                        for b in range(j * s - p, j * s - p + k):
                            if 0 <= a < H and 0 <= b < W:
                                v = float(x[n, c, a, b])
                                if best is None or v > best[0] or (last and v == best[0]):
                                    best = (v, a, b)
                    gx[n, c, best[1], best[2]] += float(gy[n, c, i, j])
    return gx


def pool_case(name, seed, N, C, H, W, k, stride, padding, x=None, nan_at=()):
    rng = np.random.default_rng(seed)
    if x is None:
        x = grid(rng, (N, C, H, W))
    for idx in nan_at:
        x[idx] = float("nan")
    Ho = (H + 2 * padding - k) // stride + 1
    Wo = (W + 2 * padding - k) // stride + 1
    gy = grid(rng, (N, C, Ho, Wo))
    xr = x.clone().requires_grad_()
    y = F.max_pool2d(xr, k, stride, padding)
    (gx,) = grads_of(y, gy, xr)
    case = {"name": name, "N": N, "C": C, "H": H, "W": W, "k": k, "stride": stride, "padding": padding,
            "x": flat(x), "gy": flat(gy), "y_shape": list(y.shape), "y": flat(y), "gx": flat(gx)}
    if not nan_at:
        first = torch.equal(gx.double(), window_argmax_gx(x, gy, k, stride, padding, last=False))
        last = torch.equal(gx.double(), window_argmax_gx(x, gy, k, stride, padding, last=True))
        case["gx_goes_to"] = ("first maximum in row-major window order" if first else
                              "last maximum in row-major window order" if last else "neither first nor last")
    return case


def pool_cases():
    rng = np.random.default_rng(305)
    ties_a = torch.tensor(rng.integers(0, 3, size=(1, 2, 6, 6)), dtype=torch.float32)
    ties_b = torch.tensor(rng.integers(0, 2, size=(1, 1, 5, 5)), dtype=torch.float32)
    return [
        pool_case("k5s1p2_sppf", 301, N=1, C=2, H=6, W=6, k=5, stride=1, padding=2),
        pool_case("k2s2p0", 302, N=2, C=2, H=4, W=6, k=2, stride=2, padding=0),
        pool_case("k3s2p1_7x7", 303, N=1, C=2, H=7, W=7, k=3, stride=2, padding=1),
        pool_case("ties_k2s2p0", 304, N=1, C=2, H=6, W=6, k=2, stride=2, padding=0, x=ties_a),
        pool_case("ties_k3s1p1", 305, N=1, C=1, H=5, W=5, k=3, stride=1, padding=1, x=ties_b),
        # Window (0,0) holds one NaN at (1,0); window (0,1) holds two, at (0,2) and (1,3).
        pool_case("nan_k2s2p0", 306, N=1, C=1, H=4, W=4, k=2, stride=2, padding=0,
                  nan_at=[(0, 0, 1, 0), (0, 0, 0, 2), (0, 0, 1, 3)]),
        # A NaN seen by several overlapping windows.
        pool_case("nan_k3s1p1", 307, N=1, C=1, H=4, W=4, k=3, stride=1, padding=1, nan_at=[(0, 0, 1, 2)]),
    ]


# ---------------------------------------------------------------- nearest upsample

def upsample_case(name, seed, N, C, H, W):
    rng = np.random.default_rng(seed)
    x = grid(rng, (N, C, H, W))
    gy = grid(rng, (N, C, 2 * H, 2 * W))
    xr = x.clone().requires_grad_()
    y = F.interpolate(xr, scale_factor=2, mode="nearest")
    (gx,) = grads_of(y, gy, xr)
    return {"name": name, "N": N, "C": C, "H": H, "W": W, "scale_factor": 2,
            "x": flat(x), "gy": flat(gy), "y_shape": list(y.shape), "y": flat(y), "gx": flat(gx)}


# ---------------------------------------------------------------- autocast

def name_of(dt):
    return str(dt).replace("torch.", "")


def autocast_entries(low):
    """Output dtypes of ops under torch.autocast("cpu", dtype=low)."""
    rng = np.random.default_rng(401)
    f32 = lambda *shape: grid(rng, shape)  # noqa: E731
    x32, w32, b32 = f32(2, 3, 4, 4), f32(4, 3, 3, 3), f32(4)
    bw, bb = f32(3), f32(3)
    entries = []

    def record(op, fn, *inputs):
        e = {"op": op, "input_dtypes": [name_of(t.dtype) for t in inputs]}
        try:
            with torch.autocast("cpu", dtype=low):
                e["output_dtype"] = name_of(fn(*inputs).dtype)
        except Exception as ex:  # noqa: BLE001 - the error is the fixture
            e["output_dtype"] = None
            e["error"] = f"{type(ex).__name__}: {ex}"
        entries.append(e)

    def bn_functional(x, w, b):
        return F.batch_norm(x, torch.zeros(3), torch.ones(3), w, b, training=True, momentum=0.03, eps=1e-3)

    def bn_module(x):
        m = nn.BatchNorm2d(3, eps=1e-3, momentum=0.03).train()
        return m(x)

    xl = x32.to(low)
    record("F.conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1), x32, w32, b32)
    record("F.conv2d", lambda x, w, b: F.conv2d(x, w, b, padding=1), xl, w32, b32)
    record("F.batch_norm(training=True)", bn_functional, xl, bw, bb)
    record("F.batch_norm(training=True)", bn_functional, x32, bw, bb)
    record("nn.BatchNorm2d.train()", bn_module, xl)
    record("nn.BatchNorm2d.train()", bn_module, x32)
    record("F.silu", F.silu, xl)
    record("F.max_pool2d(k5,s1,p2)", lambda x: F.max_pool2d(x, 5, 1, 2), xl)
    record("F.interpolate(scale_factor=2,nearest)", lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), xl)
    record("torch.cat(dim=1)", lambda a, b: torch.cat([a, b], 1), xl, x32)
    t = torch.tensor(rng.integers(0, 2, size=(2, 3, 4, 4)), dtype=torch.float32)
    record("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, xl, t.to(low))
    record("F.binary_cross_entropy_with_logits", F.binary_cross_entropy_with_logits, xl, t)
    return entries


def autocast_op_lists():
    """Whether aten::batch_norm has a CPU autocast kernel (i.e. is in a CPU autocast list)."""
    ops = ["aten::batch_norm", "aten::native_batch_norm", "aten::_native_batch_norm_legit",
           "aten::conv2d", "aten::binary_cross_entropy_with_logits", "aten::cat", "aten::silu",
           "aten::max_pool2d", "aten::upsample_nearest2d"]
    kernels = {}
    for op in ops:
        has = torch._C._dispatch_has_kernel_for_dispatch_key(op, "AutocastCPU")
        line = [l.strip() for l in torch._C._dispatch_dump(op).splitlines() if l.startswith("AutocastCPU")]
        kernels[op] = {"has_AutocastCPU_kernel": has, "registration": line[0].split(" :: ")[0] if line else None}
    # The shipped test list of CPU autocast ops (aten/src/ATen/autocast_mode.cpp itself is not shipped).
    lists = Path(torch.__file__).parent / "testing/_internal/autocast_test_lists.py"
    text = lists.read_text().splitlines()
    start = next(i for i, l in enumerate(text) if l.startswith("class AutocastCPUTestLists"))
    end = next((i for i in range(start + 1, len(text)) if text[i].startswith("class ")), len(text))
    hits = lambda word: [i + 1 for i in range(start, end) if word in text[i]]  # noqa: E731
    return {
        "method": "torch._C._dispatch_has_kernel_for_dispatch_key(op, 'AutocastCPU') and the "
                  "AutocastCPU line of torch._C._dispatch_dump(op) (the registration site inside the "
                  "unshipped aten/src/ATen/autocast_mode.cpp); plus a text search of the class "
                  "AutocastCPUTestLists in the shipped torch/testing/_internal/autocast_test_lists.py",
        "dispatch": kernels,
        "autocast_test_lists": {
            "file": "torch/testing/_internal/autocast_test_lists.py",
            "class_AutocastCPUTestLists_lines": [start + 1, end],
            "lines_mentioning_batch_norm": hits("batch_norm"),
            "lines_mentioning_binary_cross_entropy_with_logits": hits("binary_cross_entropy_with_logits"),
            "line_of_torch_fp32_list": hits("self.torch_fp32"),
            "line_of_nn_fp32_list": hits("self.nn_fp32"),
        },
    }


# ---------------------------------------------------------------- main

def dumps(obj):
    """JSON with one case per line: readable diffs, compact file."""
    parts = []
    for key, val in obj.items():
        if isinstance(val, list) and val and isinstance(val[0], dict):
            body = ",\n".join(json.dumps(v, allow_nan=False) for v in val)
            parts.append(f"{json.dumps(key)}: [\n{body}\n]")
        elif isinstance(val, dict) and key == "autocast":
            inner = ",\n".join(f"{json.dumps(k)}: {json.dumps(v, allow_nan=False)}" for k, v in val.items())
            parts.append(f"{json.dumps(key)}: {{\n{inner}\n}}")
        else:
            parts.append(f"{json.dumps(key)}: {json.dumps(val, allow_nan=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def main():
    out = {
        "generator": "record_conv_ops.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "note": "Tensors in PyTorch layout (NCHW, weights [O,C,kh,kw]) flattened row-major; floats exact "
                "(float32 values written as doubles); non-finite as \"nan\"/\"inf\"/\"-inf\". Gradients "
                "are of (y*gy).sum(). Inputs are multiples of 1/64 in [-2,2], so conv/pool/upsample "
                "results are exact in float32 (checked against float64 while recording). "
                "batch_norm: nn.BatchNorm2d(eps=1e-3, momentum=0.03); running stats after each step.",
        "conv2d": conv_cases(),
        "batch_norm": bn_cases(),
        "silu": [silu_case("float32", 501), silu_case("float64", 502)],
        "max_pool2d": pool_cases(),
        "upsample_nearest": [upsample_case("n1c2h3w3", 601, N=1, C=2, H=3, W=3),
                             upsample_case("n2c1h2w5", 602, N=2, C=1, H=2, W=5)],
        "autocast": {"bfloat16": autocast_entries(torch.bfloat16),
                     "float16": autocast_entries(torch.float16),
                     "cpu_op_lists": autocast_op_lists()},
    }
    OUT.write_text(dumps(out))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), torch {torch.__version__}")


if __name__ == "__main__":
    main()
