"""Records differential fixtures for HalfTrace's micro YOLOv5 detector from the real YOLOv5 7.0 code.

The pip package `yolov5==7.0.14` (YOLOv5 v7.0) is never a dependency of HalfTrace: run this script from
a virtual environment outside the repository.

    python3 -m venv /work/venvs/yolov5
    # torch: the CPU wheel (torch-2.13.0+cpu, found through PIP_FIND_LINKS=/opt/wheels)
    /work/venvs/yolov5/bin/pip install torch==2.13.0+cpu
    # torchvision: the PyPI wheel built for torch 2.13 (its ops library links CUDA; see below), no deps so
    # that pip keeps the CPU torch
    /work/venvs/yolov5/bin/pip install --no-deps torchvision==0.28.0
    /work/venvs/yolov5/bin/pip install yolov5==7.0.14 "setuptools<81"   # pulls boto3, tensorboard, ...
    OMP_NUM_THREADS=1 /work/venvs/yolov5/bin/python Tests/HalfTraceTests/Fixtures/record_yolov5_detector.py

It writes Tests/HalfTraceTests/Fixtures/yolov5_detector.json (same bytes on every run).

torchvision: PyPI's torchvision 0.28.0 wheel is built against CUDA torch; its `_C.so` (which holds the
real CPU `torchvision::nms` kernel YOLOv5's NMS calls) lists libcudart.so.13, libc10_cuda.so and
libtorch_cuda.so as needed libraries, which a CPU torch lacks, so `import torchvision` fails. When that
happens this script compiles empty stand-ins for those three libraries (every CUDA symbol `_C.so` needs,
as a function returning 0, never called on CPU) into `<venv>/cuda-stubs` with the system C compiler and
preloads them, so torchvision's own, unmodified binary loads and runs its CPU kernels. With a CPU build
of torchvision nothing is compiled.

Conventions of the JSON:
- a tensor is {"dtype", "shape", "data"}: data flattened row-major; float32 values are written as the
  exact double of the float32 (`float(v)`), so the reader recovers the float32 bits; float64 (NumPy)
  values are written as doubles; non-finite values as "nan", "inf", "-inf"; ints as ints, bools as bools;
- free inputs are multiples of 1/64 (exact in float16 and bfloat16) drawn from seeded generators, except
  where noted (tiny boxes, confidences that must be distinct);
- YOLOv5 code is imported as the pip package lays it out (yolov5.utils.loss, yolov5.val, ...).
"""
import ctypes
import importlib.util
import inspect
import json
import math
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

if not hasattr(np, "trapz"):
    np.trapz = np.trapezoid  # NumPy 2 removed trapz; yolov5.utils.metrics.compute_ap calls it

import torch
import torch.nn as nn

HERE = Path(__file__).resolve().parent
OUT = HERE / "yolov5_detector.json"


# ----------------------------------------------------------------------------------------------------------
# torchvision on a CPU torch
# ----------------------------------------------------------------------------------------------------------

def _torch_has_symbol(name):
    libdir = Path(torch.__file__).parent / "lib"
    for lib in ("libc10.so", "libtorch_cpu.so", "libtorch.so", "libtorch_python.so"):
        try:
            getattr(ctypes.CDLL(str(libdir / lib)), name)
            return True
        except (OSError, AttributeError):
            pass
    return False


def ensure_torchvision_loads():
    """Preload empty CUDA stand-ins if torchvision's _C.so was linked against CUDA torch (see docstring)."""
    spec = importlib.util.find_spec("torchvision")
    so = Path(spec.submodule_search_locations[0]) / "_C.so"
    try:
        ctypes.CDLL(str(so))
        return None
    except OSError as e:
        if not any(s in str(e) for s in ("libcudart", "libc10_cuda", "libtorch_cuda")):
            raise
    stub_dir = Path(sys.prefix) / "cuda-stubs"
    stub_dir.mkdir(exist_ok=True)
    needed = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True, check=True).stdout
    cudart = next(w.strip("[]") for w in needed.split() if w.startswith("[libcudart.so"))
    syms = subprocess.run(["readelf", "-W", "--dyn-syms", str(so)], capture_output=True, text=True, check=True).stdout
    runtime, cuda_funcs, cuda_objects = [], [], []
    for line in syms.splitlines():
        f = line.split()
        if len(f) < 8 or f[6] != "UND" or f[4] != "GLOBAL":
            continue
        name, kind = f[7], f[3]
        if "@" in name:
            base, ver = name.split("@", 1)
            if ver == cudart:
                runtime.append(base)
        elif not _torch_has_symbol(name):
            (cuda_objects if kind == "OBJECT" else cuda_funcs).append(name)
    srcs = {
        cudart: "".join(f"long {s}(void) {{ return 0; }}\n" for s in sorted(runtime)),
        "libc10_cuda.so": "".join(f'long stub{i}(void) __asm__("{s}");\nlong stub{i}(void) {{ return 0; }}\n'
                                  for i, s in enumerate(sorted(cuda_funcs)))
        + "".join(f'void *obj{i}[4] __asm__("{s}") = {{0}};\n' for i, s in enumerate(sorted(cuda_objects))),
        "libtorch_cuda.so": "int halftrace_cuda_stub;\n",
    }
    for lib, src in srcs.items():
        c = stub_dir / (lib + ".c")
        c.write_text(src)
        cmd = ["cc", "-shared", "-fPIC", "-o", str(stub_dir / lib), f"-Wl,-soname,{lib}", str(c)]
        if lib == cudart:
            (stub_dir / "cudart.map").write_text(f"{cudart} {{ global: *; }};\n")
            cmd.append(f"-Wl,--version-script={stub_dir / 'cudart.map'}")
        subprocess.run(cmd, check=True)
        ctypes.CDLL(str(stub_dir / lib), mode=ctypes.RTLD_GLOBAL)
    return f"torchvision's _C.so needs CUDA libraries; loaded with empty stand-ins for {sorted(srcs)}"


TORCHVISION_NOTE = ensure_torchvision_loads()

import torchvision  # noqa: E402

import yolov5  # noqa: E402
import yolov5.utils.general as general  # noqa: E402
import yolov5.utils.loss as loss_mod  # noqa: E402
import yolov5.utils.metrics as metrics  # noqa: E402
import yolov5.utils.torch_utils as torch_utils  # noqa: E402
import yolov5.val as val  # noqa: E402
from yolov5.models.common import Conv  # noqa: E402
from yolov5.models.yolo import Detect, DetectionModel  # noqa: E402


# ----------------------------------------------------------------------------------------------------------
# serialisation
# ----------------------------------------------------------------------------------------------------------

def num(v):
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def T(x):
    """A tensor or array as {"dtype", "shape", "data"} (row-major)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        dtype = str(x.dtype).replace("torch.", "")
        a = x.numpy()
    else:
        a = np.asarray(x)
        dtype = str(a.dtype)
    flat = a.reshape(-1).tolist() if a.dtype.kind in "biu" else [num(v) for v in a.reshape(-1)]
    if a.dtype.kind == "f":
        assert dtype in ("float32", "float64"), dtype
    return {"dtype": dtype, "shape": list(a.shape), "data": flat}


def dump(obj, ind=0):
    """JSON with one key per line and every list of scalars on one line (deterministic)."""
    pad, pad1 = " " * ind, " " * (ind + 1)
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{pad1}{json.dumps(k)}: {dump(v, ind + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ",".join(json.dumps(v) for v in obj) + "]"
        return "[\n" + ",\n".join(pad1 + dump(v, ind + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def k64(rng, lo, hi, shape):
    """Multiples of 1/64 in [lo, hi] (float32)."""
    return torch.from_numpy(rng.integers(round(lo * 64), round(hi * 64) + 1, size=shape).astype(np.float32) / 64)


def f32(rows):
    return torch.tensor(rows, dtype=torch.float32)


# ----------------------------------------------------------------------------------------------------------
# 1. bbox_iou / box_iou
# ----------------------------------------------------------------------------------------------------------

def record_bbox_iou():
    named = [  # (name, box1 xywh, box2 xywh)
        ("identical", [10, 10, 4, 6], [10, 10, 4, 6]),
        ("identical_unit", [0.5, 0.5, 1, 1], [0.5, 0.5, 1, 1]),
        ("disjoint_x", [2, 2, 2, 2], [10, 2, 2, 2]),
        ("disjoint_diag", [2, 2, 2, 2], [10, 12, 3, 1]),
        ("touching_edge", [2, 2, 2, 2], [4, 2, 2, 2]),
        ("touching_corner", [2, 2, 2, 2], [4, 4, 2, 2]),
        ("nested_center", [8, 8, 8, 8], [8, 8, 2, 2]),
        ("nested_offset", [8, 8, 8, 8], [5.5, 6, 2, 3]),
        ("nested_reversed", [5.5, 6, 2, 3], [8, 8, 8, 8]),
        ("far_corner_overlap", [0, 0, 4, 4], [3.75, 3.75, 4, 4]),
        ("half_shift", [4, 4, 4, 4], [6, 4, 4, 4]),
        ("cross", [8, 8, 12, 2], [8, 8, 2, 12]),
        ("aspect_1_20_vs_square", [8, 8, 20, 1], [8, 8, 4, 4]),
        ("aspect_1_20_vs_20_1", [8, 8, 20, 1], [8, 8, 1, 20]),
        ("aspect_1_20_shifted", [8, 8, 1, 20], [8.5, 9, 1, 20]),
        ("aspect_1_20_same", [8, 8, 0.25, 5], [8, 8, 0.25, 5]),
        ("tiny_identical", [1, 1, 1e-3, 1e-3], [1, 1, 1e-3, 1e-3]),
        ("tiny_half_overlap", [1, 1, 1e-3, 1e-3], [1.0005, 1, 1e-3, 1e-3]),
        ("tiny_disjoint", [1, 1, 1e-3, 1e-3], [1.01, 1, 1e-3, 1e-3]),
        ("tiny_vs_unit", [1, 1, 1e-3, 1e-3], [1, 1, 1, 1]),
        ("zero_width_inside", [4, 4, 0, 2], [4, 4, 2, 2]),
        ("zero_width_both", [4, 4, 0, 2], [4, 4, 0, 2]),
        ("zero_height", [4, 4, 2, 0], [4, 4, 2, 2]),
        ("zero_size_both", [4, 4, 0, 0], [4, 4, 0, 0]),
        ("large_coords", [7000, 7000, 640, 480], [7010, 6990, 600, 500]),
        ("negative_center", [-3, -2, 4, 4], [-2, -2, 4, 4]),
    ]
    rng = np.random.default_rng(101)
    rows1, rows2, names = [r[1] for r in named], [r[2] for r in named], [r[0] for r in named]
    for i in range(16):  # random overlapping pairs, multiples of 1/64
        c = rng.integers(0, 64 * 16, size=2) / 64
        wh = rng.integers(8, 64 * 8, size=2) / 64
        c2 = c + rng.integers(-64 * 3, 64 * 3 + 1, size=2) / 64
        wh2 = rng.integers(8, 64 * 8, size=2) / 64
        rows1.append([*c, *wh])
        rows2.append([*c2, *wh2])
        names.append(f"random_{i}")
    b1, b2 = f32(rows1), f32(rows2)
    ciou = metrics.bbox_iou(b1, b2, xywh=True, CIoU=True)
    iou = metrics.bbox_iou(b1, b2, xywh=True, CIoU=False)

    rng = np.random.default_rng(102)
    xy = rng.integers(0, 64 * 16, size=(9, 2)) / 64
    wh = rng.integers(64 * 4, 64 * 20, size=(9, 2)) / 64
    xyxy = f32(np.concatenate([xy, xy + wh], 1))
    a, b = xyxy[:5], xyxy[5:]
    b[0] = a[0]  # one identical pair
    return {
        "call": "yolov5.utils.metrics.bbox_iou(box1, box2, xywh=True, CIoU=True) and (..., CIoU=False); eps=1e-7; "
                "element-wise over the pairs (box1[i] with box2[i]); output shape (n, 1)",
        "names": names,
        "box1_xywh": T(b1),
        "box2_xywh": T(b2),
        "ciou": T(ciou),
        "iou": T(iou),
        "box_iou": {
            "call": "yolov5.utils.metrics.box_iou(box1, box2) (xyxy, eps=1e-7); output (N, M)",
            "box1_xyxy": T(a),
            "box2_xyxy": T(b),
            "iou": T(metrics.box_iou(a, b)),
        },
    }


# ----------------------------------------------------------------------------------------------------------
# 2-4. Detect, ComputeLoss, _initialize_biases, decode
# ----------------------------------------------------------------------------------------------------------

HYP_SCRATCH_LOW = {"box": 0.05, "cls": 0.5, "cls_pw": 1.0, "obj": 1.0, "obj_pw": 1.0, "anchor_t": 4.0,
                   "fl_gamma": 0.0, "label_smoothing": 0.0}
IMGSZ = 64

CONFIGS = {
    "nl2_nc3": {"nc": 3, "strides": [8, 16],
                "anchors_px": [[6, 7, 9, 12, 13, 10], [14, 20, 22, 16, 28, 30]]},
    "nl3_nc2": {"nc": 2, "strides": [8, 16, 32],
                "anchors_px": [[4, 5, 8, 10, 12, 7], [10, 20, 18, 14, 22, 26], [32, 24, 36, 48, 56, 52]]},
}


class Holder(nn.Module):
    """What ComputeLoss needs from a model: parameters, .model[-1] = Detect, .hyp, .gr."""

    def __init__(self, detect, hyp):
        super().__init__()
        self.model = nn.Sequential(detect)
        self.hyp = hyp
        self.gr = 1.0


def make_detect(cfg, ch=None):
    anchors = cfg["anchors_px"]
    na = len(anchors[0]) // 2
    ch = ch or [na * (5 + cfg["nc"])] * len(anchors)
    m = Detect(cfg["nc"], anchors, ch)
    m.stride = torch.tensor([float(s) for s in cfg["strides"]])  # as DetectionModel.__init__ computes it
    m.anchors /= m.stride.view(-1, 1, 1)  # as DetectionModel.__init__: anchors in grid units
    return m


def scaled_hyp(nl, nc):
    hyp = dict(HYP_SCRATCH_LOW)  # train.py v7.0, lines "hyp['box'] *= 3 / nl" ...
    hyp["box"] *= 3 / nl
    hyp["cls"] *= nc / 80 * 3 / nl
    hyp["obj"] *= (IMGSZ / 640) ** 2 * 3 / nl
    return hyp


BBOX_IOU = loss_mod.bbox_iou


class RecordingBCE(nn.Module):
    """Wraps ComputeLoss.BCEobj to see the objectness target tobj it is given (computation unchanged)."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.seen = inner, []

    def forward(self, x, target):
        self.seen.append(target.detach().clone())
        return self.inner(x, target)


LOSS_CASES = {
    "nl2_nc3": [
        ("offsets", 2, [
            [0, 0, 32 / 64, 32 / 64, 8 / 64, 9 / 64],    # exactly on a grid corner at both strides
            [0, 1, 13 / 64, 43 / 64, 10 / 64, 12 / 64],  # gx frac .625 -> right neighbour, gy frac .375 -> up
            [1, 2, 53 / 64, 9 / 64, 12 / 64, 8 / 64],    # near the top-right: right and up neighbours
            [1, 0, 3 / 64, 40 / 64, 6 / 64, 8 / 64],     # gx = 0.375 (< 1): no left neighbour
            [1, 1, 8 / 64, 20 / 64, 9 / 64, 9 / 64],     # gx = 1.0 exactly at stride 8: rule is gx > 1
        ]),
        ("anchor_ratio", 2, [
            [0, 0, 24 / 64, 24 / 64, 32 / 64, 3 / 64],   # thin: one anchor of stride 8 only (one ratio exactly 4)
            [0, 1, 30 / 64, 34 / 64, 57 / 64, 57 / 64],  # large: too big for stride 8, two anchors of stride 16
            [1, 2, 40 / 64, 20 / 64, 1 / 64, 1 / 64],    # tiny: matches no anchor at all
            [1, 0, 45 / 64, 50 / 64, 11 / 64, 14 / 64],  # ordinary
        ]),
        ("same_cell_and_edge", 3, [
            [0, 0, 20 / 64, 20 / 64, 8 / 64, 8 / 64],    # these two share cell (2, 2) at stride 8 and (1, 1)
            [0, 2, 21 / 64, 22 / 64, 9 / 64, 10 / 64],   # at stride 16, for the same anchors
            [1, 1, 64 / 64, 48 / 64, 12 / 64, 16 / 64],  # centre on the right image edge (x = 1)
            [2, 0, 0 / 64, 64 / 64, 10 / 64, 10 / 64],   # centre on the left/bottom corner (x = 0, y = 1)
            [2, 2, 36 / 64, 36 / 64, 14 / 64, 12 / 64],
        ]),
        ("no_targets", 2, []),
    ],
    "nl3_nc2": [
        ("mixed", 2, [
            [0, 0, 32 / 64, 32 / 64, 12 / 64, 12 / 64],  # grid corner at every stride
            [0, 1, 33 / 64, 31 / 64, 12 / 64, 14 / 64],  # same cells as the first for stride 16 and 32
            [0, 1, 10 / 64, 50 / 64, 48 / 64, 4 / 64],   # thin
            [1, 0, 44 / 64, 12 / 64, 40 / 64, 36 / 64],  # large
            [1, 1, 17 / 64, 47 / 64, 6 / 64, 7 / 64],
        ]),
        ("edges", 2, [
            [0, 0, 64 / 64, 64 / 64, 8 / 64, 8 / 64],    # bottom-right corner
            [0, 1, 0 / 64, 0 / 64, 16 / 64, 20 / 64],    # top-left corner
            [1, 1, 64 / 64, 30 / 64, 24 / 64, 30 / 64],  # right edge
            [1, 0, 40 / 64, 1 / 64, 10 / 64, 2 / 64],    # near the top edge
        ]),
        ("no_targets", 1, []),
    ],
}


def record_compute_loss():
    out = {"call": "ComputeLoss(model)(p, targets) -> (loss * bs, [lbox, lobj, lcls]); then "
                   "(loss * bs).backward(); build_targets(p, targets) recorded separately",
           "model": "a real yolov5.models.yolo.Detect(nc, anchors_px, ch) with stride set and anchors divided by "
                    "the stride (as DetectionModel.__init__), inside an nn.Module with .model[-1] = Detect, "
                    ".hyp = hyp, .gr = 1.0",
           "imgsz": IMGSZ,
           "hyp_scratch_low": HYP_SCRATCH_LOW,
           "hyp_scaling": "train.py v7.0: hyp['box'] *= 3 / nl; hyp['cls'] *= nc / 80 * 3 / nl; "
                          "hyp['obj'] *= (imgsz / 640) ** 2 * 3 / nl",
           "targets_layout": "(image, class, x, y, w, h), x y w h normalised to the image",
           "prediction_layout": "p[i] shape (bs, na, ny, nx, 5 + nc): x, y, w, h, obj, classes (raw logits)",
           "tobj_note": "tobj[i]: the objectness target (bs, na, ny, nx) ComputeLoss passes to BCEobj for layer i "
                        "(captured by wrapping BCEobj); ciou[i]: the CIoU of each build_targets entry of layer i "
                        "as ComputeLoss computes it (captured by wrapping yolov5.utils.loss.bbox_iou; absent if "
                        "the layer has no entries); ComputeLoss writes tobj[b, a, gj, gi] = ciou.clamp(0)",
           "configs": {}}
    for ci, (cname, cfg) in enumerate(CONFIGS.items()):
        nl, nc = len(cfg["strides"]), cfg["nc"]
        hyp = scaled_hyp(nl, nc)
        torch.manual_seed(0)
        model = Holder(make_detect(cfg), hyp)
        det = model.model[-1]
        cases = []
        for ki, (name, bs, rows) in enumerate(LOSS_CASES[cname]):
            compute_loss = loss_mod.ComputeLoss(model)
            rec = RecordingBCE(compute_loss.BCEobj)
            compute_loss.BCEobj = rec
            ious = []

            def recording_bbox_iou(*args, **kwargs):  # the same function, its results kept
                ious.append(BBOX_IOU(*args, **kwargs))
                return ious[-1]

            loss_mod.bbox_iou = recording_bbox_iou
            rng = np.random.default_rng(1000 + 10 * ci + ki)
            p = [k64(rng, -3, 3, (bs, det.na, IMGSZ // s, IMGSZ // s, 5 + nc)).requires_grad_(True)
                 for s in cfg["strides"]]
            targets = f32(rows).view(-1, 6)
            tcls, tbox, indices, anch = compute_loss.build_targets(p, targets)
            loss, items = compute_loss(p, targets)
            loss.backward()
            loss_mod.bbox_iou = BBOX_IOU
            layers_with_entries = [i for i in range(nl) if len(indices[i][0])]
            ciou = {i: T(v.detach()) for i, v in zip(layers_with_entries, ious)}
            cases.append({
                "name": name,
                "bs": bs,
                "targets": T(targets),
                "p": [T(x) for x in p],
                "build_targets": [{
                    "tcls": T(tcls[i]), "tbox": T(tbox[i]),
                    "b": T(indices[i][0]), "a": T(indices[i][1]), "gj": T(indices[i][2]), "gi": T(indices[i][3]),
                    "anch": T(anch[i])} for i in range(nl)],
                "tobj": [T(t) for t in rec.seen],
                "ciou": [ciou.get(i) for i in range(nl)],
                "loss": T(loss.detach()),
                "loss_items": T(items),
                "grad": [T(x.grad) for x in p],
            })
        out["configs"][cname] = {
            "nc": nc, "nl": nl, "na": det.na, "strides": cfg["strides"],
            "anchors_px": cfg["anchors_px"],
            "anchors_grid": T(det.anchors),
            "grids": [IMGSZ // s for s in cfg["strides"]],
            "hyp": hyp,
            "balance": compute_loss.balance,  # ComputeLoss: {3: [4.0, 1.0, 0.4]}.get(nl, [4.0, 1.0, 0.25, 0.06, 0.02])
            "cases": cases,
        }
    return out


def record_initialize_biases():
    src = inspect.getsource(DetectionModel._initialize_biases)
    out = {"call": "DetectionModel._initialize_biases(model) with model.model[-1] = Detect (stride set), "
                   "cf=None; v7.0 hard-codes 640 whatever the image size",
           "source": src, "cases": []}
    cfgs = [("nl2_nc3_from_zero", CONFIGS["nl2_nc3"], "zero"),
            ("nl3_nc2_from_zero", CONFIGS["nl3_nc2"], "zero"),
            ("nl2_nc1_from_zero", dict(CONFIGS["nl2_nc3"], nc=1), "zero"),
            ("nl2_nc3_from_values", CONFIGS["nl2_nc3"], "values")]
    for i, (name, cfg, start) in enumerate(cfgs):
        m = make_detect(cfg, ch=[4] * len(cfg["strides"]))
        with torch.no_grad():
            for j, mi in enumerate(m.m):
                if start == "zero":
                    mi.bias.zero_()
                else:
                    mi.bias.copy_(k64(np.random.default_rng(300 + j), -1, 1, mi.bias.shape))
        before = [T(mi.bias) for mi in m.m]
        DetectionModel._initialize_biases(Holder(m, {}))
        out["cases"].append({"name": name, "nc": cfg["nc"], "na": m.na, "strides": cfg["strides"],
                             "bias_before": before, "bias_after": [T(mi.bias) for mi in m.m]})
    return out


def record_detect_decode():
    out = {"call": "Detect.forward(x) in eval mode with each m.m[i] replaced by nn.Identity, so x[i] (bs, "
                   "na * (5 + nc), ny, nx) is the raw conv output; decoded z = torch.cat(z, 1) (bs, N, 5 + nc) "
                   "with N = sum(na * ny * nx), order (layer, anchor, y, x); xy, wh in pixels",
           "cases": []}
    for i, (cname, bs) in enumerate([("nl2_nc3", 2), ("nl3_nc2", 1)]):
        cfg = CONFIGS[cname]
        m = make_detect(cfg)
        for j in range(m.nl):
            m.m[j] = nn.Identity()
        m.eval()
        rng = np.random.default_rng(400 + i)
        xs = [k64(rng, -4, 4, (bs, m.na * m.no, IMGSZ // s, IMGSZ // s)) for s in cfg["strides"]]
        with torch.no_grad():
            z, _ = m(list(xs))
        out["cases"].append({"name": cname, "nc": cfg["nc"], "strides": cfg["strides"], "anchors_px": cfg["anchors_px"],
                             "x": [T(x) for x in xs], "z": T(z)})
    return out


# ----------------------------------------------------------------------------------------------------------
# 5. non_max_suppression
# ----------------------------------------------------------------------------------------------------------

def nms_predictions():
    """bs 2, 30 candidates each, nc 3: xywh pixels, obj, class probabilities (multiples of 1/64)."""
    rng = np.random.default_rng(500)
    bs, n, nc = 2, 30, 3
    pred = np.zeros((bs, n, 5 + nc), np.float32)
    for b in range(bs):
        for i in range(n):
            if i < 18:  # clustered around three centres, so boxes overlap within and across classes
                cx, cy = [(16, 20), (40, 24), (30, 44)][i % 3]
                xy = np.array([cx, cy]) + rng.integers(-4 * 64, 4 * 64 + 1, size=2) / 64
                wh = rng.integers(10 * 64, 20 * 64 + 1, size=2) / 64
            else:
                xy = rng.integers(4 * 64, 60 * 64 + 1, size=2) / 64
                wh = rng.integers(3 * 64, 16 * 64 + 1, size=2) / 64
            pred[b, i, :4] = [*xy, *wh]
            pred[b, i, 4] = rng.integers(1, 65) / 64
            pred[b, i, 5:] = rng.integers(0, 65, size=nc) / 64
        # no two candidate scores (obj * cls, in float32) equal inside an image: redraw a class probability
        # (same seeded generator) until every product is distinct, so both NMS sorts have one answer
        while True:
            conf = pred[b, :, 5:] * pred[b, :, 4:5]
            vals, counts = np.unique(conf[conf > 0], return_counts=True)
            dup = vals[counts > 1]
            if not len(dup):
                break
            i, c = [(i, c) for i in range(n) for c in range(nc) if conf[i, c] == dup[0]][-1]
            pred[b, i, 5 + c] = rng.integers(1, 65) / 64
    # hand-made edges in image 0 (chosen so that no score ties are introduced; checked below)
    pred[0, 0, 4], pred[0, 0, 5:] = 16 / 64, [63 / 64, 1 / 64, 0]    # obj exactly 0.25: not > conf_thres 0.25
    pred[0, 1, 4], pred[0, 1, 5:] = 32 / 64, [32 / 64, 0, 5 / 64]    # score exactly 0.25 for class 0
    pred[0, 2, 4], pred[0, 2, 5:] = 1 / 64, [3 / 64, 1 / 64, 0]      # obj 1/64 > 0.001 but scores < 0.001
    # two class-0 boxes whose IoU is float32(0.6) (> 0.6 as a double) and two class-1 boxes whose IoU is
    # float32(0.45) (< 0.45 as a double)
    pred[1, 20, :] = [10, 50, 10, 10, 62 / 64, 60 / 64, 0, 0]
    pred[1, 21, :] = [10, 48, 10, 6, 61 / 64, 61 / 64, 0, 0]
    pred[1, 22, :] = [50, 50, 10, 10, 59 / 64, 0, 57 / 64, 0]
    pred[1, 23, :] = [50, 47.75, 10, 4.5, 58 / 64, 0, 59 / 64, 0]
    for b in range(bs):
        conf = pred[b, :, 5:] * pred[b, :, 4:5]
        pos = conf[conf > 0]
        assert len(np.unique(pos)) == len(pos), "score tie"
    return torch.from_numpy(pred)


def record_nms():
    pred = nms_predictions()
    settings = [("val_training", dict(conf_thres=0.001, iou_thres=0.6, multi_label=True, max_det=300)),
                ("detect_defaults", dict(conf_thres=0.25, iou_thres=0.45, multi_label=False, max_det=1000))]
    out = {"call": "yolov5.utils.general.non_max_suppression(prediction, **settings) (classes=None, "
                   "agnostic=False, labels=()); output per image (k, 6): x1, y1, x2, y2, conf, cls",
           "max_wh": 7680, "max_nms": 30000,
           "ties": "no two scores obj * cls (float32) are equal within an image: class probabilities were redrawn "
                   "from the seeded generator until all positive products were distinct",
           "prediction": T(pred), "settings": []}
    for name, kw in settings:
        seen = []  # non_max_suppression stops early (dropping later images) past a wall-clock limit: refuse that
        handler = type("H", (__import__("logging").Handler,), {"emit": lambda self, r: seen.append(r.getMessage())})()
        general.LOGGER.addHandler(handler)
        res = general.non_max_suppression(pred.clone(), **kw)
        general.LOGGER.removeHandler(handler)
        assert not any("time limit" in m for m in seen), seen
        out["settings"].append({"name": name, **kw, "output": [T(r) for r in res]})
    return out


# ----------------------------------------------------------------------------------------------------------
# 6. process_batch, ap_per_class, fitness
# ----------------------------------------------------------------------------------------------------------

def val_images():
    """(detections (N, 6) xyxy conf cls, labels (M, 5) cls xyxy) per image, pixels of a 64 px image."""
    D = lambda rows: f32(rows).view(-1, 6)  # noqa: E731
    L = lambda rows: f32(rows).view(-1, 5)  # noqa: E731
    return [
        ("several_on_one_label",  # four class-0 detections on one label (the best IoU is not the first in
         # confidence order), two class-1 detections on one label, and a class-1 hit on another label
         D([[11, 10, 30, 31, 0.890625, 0], [10, 10, 30, 30, 0.8125, 0], [8, 12, 28, 30, 0.703125, 0],
            [10, 10, 30, 29, 0.59375, 0], [40, 40, 56, 60, 0.765625, 1], [41, 39, 57, 58, 0.40625, 1],
            [2, 40, 12, 50, 0.3203125, 1]]),
         L([[0, 10.5, 10, 30, 30], [1, 40, 40, 56, 58], [1, 0, 42, 11, 52]])),
        ("class_without_labels",  # class 3 predicted, never labelled; class 2 labelled, never predicted
         D([[4, 4, 20, 24, 0.9453125, 3], [30, 8, 50, 20, 0.6640625, 0], [30, 30, 48, 50, 0.2890625, 1]]),
         L([[2, 4, 4, 20, 24], [0, 31, 8, 50, 21], [1, 31, 29, 47, 50]])),
        ("no_labels", D([[5, 5, 15, 15, 0.5546875, 0], [20, 20, 40, 40, 0.1171875, 1]]), L([])),
        ("no_detections", D([]), L([[0, 6, 6, 30, 30], [2, 34, 10, 60, 40]])),
        ("mixed_iou_levels",  # IoUs spread over the 10 thresholds; two labels competing for two detections;
         # a class-2 detection whose best label is taken by an earlier detection (it does not fall back to
         # its second-best label)
         D([[0, 0, 19, 20, 0.8515625, 1], [21, 0, 41, 20, 0.4765625, 1], [44, 44, 60, 60, 0.6171875, 2],
            [10, 30, 30, 50, 0.7265625, 0], [12, 30, 32, 50, 0.0390625, 0], [45, 45, 61, 63, 0.2265625, 2]]),
         L([[1, 1, 0, 21, 20], [1, 20, 0, 40, 21], [2, 45, 43, 61, 61], [0, 10, 31, 30, 51],
            [0, 13, 29, 33, 49], [2, 44, 47, 60, 64]])),
    ]


def record_val_metrics():
    iouv = torch.linspace(0.5, 0.95, 10)
    niou = iouv.numel()
    images, stats = [], []
    for name, pred, labels in val_images():  # val.py's per-image loop (native-space boxes given directly)
        nl, npr = labels.shape[0], pred.shape[0]
        correct = torch.zeros(npr, niou, dtype=torch.bool)
        rec = {"name": name, "detections": T(pred), "labels": T(labels)}
        if npr == 0:
            if nl:
                stats.append((correct, *torch.zeros((2, 0)), labels[:, 0]))
            rec["correct"] = T(correct)
            images.append(rec)
            continue
        if nl:
            iou = metrics.box_iou(labels[:, 1:], pred[:, :4])
            match = iou[(iou >= 0.5) & (labels[:, 0:1] == pred[:, 5])]
            assert len(torch.unique(match)) == len(match), "IoU tie among matches"
            correct = val.process_batch(pred, labels, iouv)
        stats.append((correct, pred[:, 4], pred[:, 5], labels[:, 0]))
        rec["correct"] = T(correct)
        images.append(rec)
    stats = [torch.cat(x, 0).cpu().numpy() for x in zip(*stats)]  # as val.py
    assert len(np.unique(stats[1])) == len(stats[1]), "confidence tie"
    names = {i: str(i) for i in range(4)}
    tp, fp, p, r, f1, ap, ap_class = metrics.ap_per_class(*stats, plot=False, names=names)
    ap50, apm = ap[:, 0], ap.mean(1)
    summary = {"mp": num(p.mean()), "mr": num(r.mean()), "map50": num(ap50.mean()), "map": num(apm.mean())}

    def ap_record(st, res):
        keys = ["tp", "fp", "p", "r", "f1", "ap", "ap_class"]
        return {"inputs": {"tp": T(st[0]), "conf": T(st[1]), "pred_cls": T(st[2]), "target_cls": T(st[3])},
                "outputs": {k: T(v) for k, v in zip(keys, res)}}

    random_sets = []
    iouv64 = iouv.numpy().astype(np.float64)
    for si, (n, nlab, pred_classes, target_classes) in enumerate([
            (300, 120, [0, 1, 2], [0, 1, 2]),
            (240, 160, [0, 1, 2, 3, 5], [0, 1, 2, 3, 4]),  # class 4 never predicted, class 5 never labelled
            (400, 90, [0, 1], [0, 1])]):
        rng = np.random.default_rng(600 + si)
        target_cls = rng.choice(target_classes, size=nlab).astype(np.float32)
        pred_cls = rng.choice(pred_classes, size=n).astype(np.float32)
        # an IoU per detection: per class, at most as many detections as labels can match (IoU >= 0.5, as
        # process_batch allows one detection per label), the others stay below 0.5
        pred_iou = 0.5 * rng.random(n)
        for c in pred_classes:
            idx = rng.permutation(np.flatnonzero(pred_cls == c))
            hits = idx[:int(0.8 * min(len(idx), int((target_cls == c).sum())))]
            pred_iou[hits] = 0.5 + 0.5 * rng.random(len(hits)) ** 0.7
        tp_ = pred_iou[:, None] >= iouv64[None]
        # distinct confidences, multiples of 1/4096 (1/64 allows too few values), ranked by a noisy copy of
        # the IoU so that correct detections tend to score higher
        levels = np.sort(rng.choice(np.arange(1, 4096), size=n, replace=False)).astype(np.float32) / 4096
        conf = np.empty(n, np.float32)
        conf[np.argsort(pred_iou + 0.6 * rng.random(n), kind="stable")] = levels
        st = [tp_, conf, pred_cls, target_cls]
        res = metrics.ap_per_class(*st, plot=False, names={i: str(i) for i in range(6)})
        random_sets.append({"name": f"random_{n}_dets_{nlab}_labels", **ap_record(st, res)})

    fit_rows = np.array([[0.5, 0.4, 0.3, 0.2, 1.0, 2.0, 3.0],
                         [0.9, 0.8, 0.703125, 0.453125, 0.0, 0.0, 0.0],
                         [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                         [p.mean(), r.mean(), ap50.mean(), apm.mean(), 0.1, 0.2, 0.3]])
    return {
        "process_batch": {
            "call": "yolov5.val.process_batch(detections, labels, iouv): detections (N, 6) x1 y1 x2 y2 conf cls, "
                    "labels (M, 5) cls x1 y1 x2 y2; correct (N, 10); val.py's loop: an image without detections "
                    "adds (zeros(0, 10), [], [], labels[:, 0]) to stats only if it has labels; an image without "
                    "labels adds an all-false correct",
            "iouv": T(iouv),
            "images": images,
        },
        "ap_per_class": {
            "call": "yolov5.utils.metrics.ap_per_class(tp, conf, pred_cls, target_cls, plot=False, names=names) on "
                    "[torch.cat(x, 0).cpu().numpy() for x in zip(*stats)] (names must be a dict: v7.0 calls "
                    "names.items()); returns tp, fp, p, r, f1, ap (nc, 10), ap_class",
            **ap_record(stats, (tp, fp, p, r, f1, ap, ap_class)),
            "val_summary": dict(summary, note="ap50 = ap[:, 0], ap = ap.mean(1); mp, mr, map50, map = p.mean(), "
                                             "r.mean(), ap50.mean(), ap.mean()"),
        },
        "ap_per_class_random": {
            "note": "tp (n, 10) bool from a drawn IoU per detection (>= iouv, at most as many IoU >= 0.5 per class "
                    "as labels); conf distinct multiples of 1/4096; the second set has a class never predicted "
                    "and a class never labelled",
            "sets": random_sets,
        },
        "fitness": {"call": "yolov5.utils.metrics.fitness(x) = (x[:, :4] * [0, 0, 0.1, 0.9]).sum(1)",
                    "x": T(fit_rows), "fitness": T(metrics.fitness(fit_rows))},
    }


# ----------------------------------------------------------------------------------------------------------
# 7. ModelEMA
# ----------------------------------------------------------------------------------------------------------

class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3)
        self.bn = nn.BatchNorm2d(3)
        self.extra_bias = nn.Parameter(torch.zeros(3))


def record_model_ema():
    runs = []
    for name, tau in [("tau2000", 2000), ("tau2", 2)]:
        rng = np.random.default_rng(700)
        model = TinyNet()
        with torch.no_grad():
            for k, v in model.state_dict().items():
                if v.dtype.is_floating_point:
                    lo = 0.25 if k.endswith("running_var") else -1
                    v.copy_(k64(rng, lo, 1, v.shape))
        initial = {k: T(v) for k, v in model.state_dict().items()}
        ema = torch_utils.ModelEMA(model, decay=0.9999, tau=tau)
        steps = []
        for step in range(5):
            with torch.no_grad():  # fixed changes to every floating entry, and the BN batch counter
                for k, v in model.state_dict().items():
                    if v.dtype.is_floating_point:
                        v.add_(k64(rng, -0.5, 0.5, v.shape))
                        if k.endswith("running_var"):
                            v.abs_()
                    else:
                        v.add_(1)
            ema.update(model)
            steps.append({
                "model": {k: T(v) for k, v in model.state_dict().items()},
                "updates": ema.updates,
                "d": ema.decay(ema.updates),
                "ema": {k: T(v) for k, v in ema.ema.state_dict().items()},
            })
        runs.append({"name": name, "decay": 0.9999, "tau": tau, "initial": initial, "steps": steps})
    return {"call": "ModelEMA(model, decay, tau); per step: change the model, then ema.update(model); d = decay * "
                    "(1 - exp(-updates / tau)); for floating entries v *= d; v += (1 - d) * model[k]; "
                    "bn.num_batches_tracked (int64) is not averaged (stays as deep-copied at construction)",
            "runs": runs}


# ----------------------------------------------------------------------------------------------------------
# 8. smart_optimizer
# ----------------------------------------------------------------------------------------------------------

class SmallModel(nn.Module):
    def __init__(self):
        super().__init__()
        det = make_detect(CONFIGS["nl2_nc3"], ch=[8, 16])
        self.model = nn.Sequential(Conv(3, 4, 3, 2), Conv(4, 8, 3, 2), Conv(8, 8, 1, 1), Conv(8, 16, 3, 2), det)


def record_smart_optimizer():
    torch.manual_seed(0)
    model = SmallModel()
    lr, momentum, decay = 0.01, 0.937, 0.0005
    opt = torch_utils.smart_optimizer(model, "SGD", lr, momentum, decay)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [{"params": [names[id(p)] for p in g["params"]],
               "weight_decay": g["weight_decay"], "lr": g["lr"], "momentum": g["momentum"], "nesterov": g["nesterov"]}
              for g in opt.param_groups]
    return {"call": f"smart_optimizer(model, 'SGD', lr={lr}, momentum={momentum}, decay={decay})",
            "model": "Sequential(Conv(3,4,3,2), Conv(4,8,3,2), Conv(8,8,1,1), Conv(8,16,3,2), Detect(nc=3, "
                     "2 layers, ch=[8, 16])); Conv = Conv2d(bias=False) + BatchNorm2d + SiLU",
            "named_parameters": [n for n, _ in model.named_parameters()],
            "param_groups": groups}


def main():
    torch.use_deterministic_algorithms(True)  # as train.py v7.0's init_seeds(..., deterministic=True)
    data = {
        "generator": "Tests/HalfTraceTests/Fixtures/record_yolov5_detector.py",
        "versions": {"yolov5": yolov5.__version__, "torch": torch.__version__,
                     "torchvision": torchvision.__version__, "numpy": np.__version__,
                     "python": sys.version.split()[0]},
        "torchvision_note": TORCHVISION_NOTE or "torchvision loaded as installed",
        "settings": "OMP_NUM_THREADS=%s, torch.use_deterministic_algorithms(True) (as train.py's init_seeds), "
                    "CPU, float32" % os.environ.get("OMP_NUM_THREADS"),
        "bbox_iou": record_bbox_iou(),
        "compute_loss": record_compute_loss(),
        "initialize_biases": record_initialize_biases(),
        "detect_decode": record_detect_decode(),
        "nms": record_nms(),
        **record_val_metrics(),
        "model_ema": record_model_ema(),
        "smart_optimizer": record_smart_optimizer(),
    }
    OUT.write_text(dump(data) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
