"""Time to accuracy of the real YOLOv5 7.0 (pip `yolov5==7.0.14`) trained from scratch on a YOLO dataset folder.

This is a benchmark baseline, not a dependency of HalfTrace: it lets HalfTrace's own detector
(`halftrace train detector`) be compared with the real YOLOv5 on the same data and the same machine. Run it
from a virtual environment outside the repository:

    python3 -m venv /work/venvs/yolov5
    # torch: the CPU wheel (torch-2.13.0+cpu, found through PIP_FIND_LINKS=/opt/wheels)
    /work/venvs/yolov5/bin/pip install torch==2.13.0+cpu
    # torchvision: the PyPI wheel built for torch 2.13, without deps so that pip keeps the CPU torch
    /work/venvs/yolov5/bin/pip install --no-deps torchvision==0.28.0
    /work/venvs/yolov5/bin/pip install yolov5==7.0.14 "setuptools<81"   # pulls boto3, tensorboard, ...

    halftrace data --out /tmp/shapes-data
    /work/venvs/yolov5/bin/python Tools/yolov5_detector_baseline.py --data /tmp/shapes-data [--epochs 300]
        [--cfg yolov5n.yaml] [--width-multiple W] [--no-p5] [--batch 16] [--imgsz 64] [--threads 2] [--seed 0]
        [--out DIR] [--json]

What it runs: YOLOv5's own train.py (`yolov5.train.main`) from a model YAML (`weights=''`, `--cfg`, by default
yolov5n.yaml; `--width-multiple` trains a copy of that YAML with another width_multiple, e.g. 0.125 for half of
yolov5n's width; `--no-p5` trains HalfTrace's detector layout instead, see below), hyp.scratch-low.yaml
(YOLOv5's default), SGD, `--imgsz`, `--batch`, workers 0, noplots, validation after every epoch, CPU, `--seed`
(train.py's init_seeds(seed + 1, deterministic=True)), with torch.set_num_threads(threads) and
OMP_NUM_THREADS=threads. Everything else is YOLOv5's default (AutoAnchor, EMA, warm-up, EarlyStopping patience
100, a checkpoint saved every epoch, best.pt validated after training).

yolov5n at --imgsz 64 and HalfTrace's detector are not the same network: yolov5n has a third detection level,
P5/32, a 2 x 2 grid at 64 px whose anchors (116x90, 156x198, 373x326) only objects of about 29 px and more can
match (anchor_t 4). AutoAnchor keeps these anchors (P3 and P4 already give a best possible recall of 1.0), so on
8-32 px shapes P5 gets about 6 target assignments per batch of 16 (P3 about 525, P4 about 128; none in some
batches), yet ComputeLoss weighs its mean box and class terms like those of P3. Its few targets make the
gradient norm spike (up to 230 in the warm-up; after it a 90th percentile of 37, against 6 without the P5
level), so clip_grad_norm_(10) shortens many steps, the class loss stays at chance (about 0.036) and on the
project's shapes yolov5n ends at mAP@0.5 0.11 after 300 epochs. `--no-p5` builds, from --cfg's depth_multiple,
width_multiple, nc and first two anchor rows, the layout of HalfTrace's detector
(Sources/HalfTraceDetection/Detector.swift: yolov5n's layers without the P5/32 level, the SPPF on P4/16, Detect
on P3/8 and P4/16; 0.40 M parameters from yolov5n.yaml), written as <stem>-p3p4.yaml into the run directory:
the same network in YOLOv5's own code, for a like-for-like comparison. It needs a v7.0 P5 YAML (the layers of
yolov5n/s/m/l/x.yaml).

What it measures (wall clock, `time.perf_counter`):
- the clock starts at YOLOv5's `on_train_start` callback (model, data loaders and AutoAnchor ready, right before
  the first epoch; train.py's own t0) and is read at every `on_fit_epoch_end` (the end of the epoch's
  validation; the checkpoint of epoch k is written after it and so counts in epoch k + 1);
- total_seconds: the clock at the end of the last epoch's validation; setup_seconds: from the start of
  train.py's train() (`on_pretrain_routine_start`: dataset scan, model, AutoAnchor) to the first epoch;
  run_seconds: from that start to the return of train.main (with the final validation of best.pt);
- the first epoch (0-based, as in results.csv) at which mAP@0.5 >= 0.7 and mAP@0.5:0.95 >= 0.4 both hold, and
  its seconds; the mean of the last 10 epochs' mAP@0.5 and mAP@0.5:0.95; the final values; the parameter count;
  the per-epoch table (epoch, seconds, P, R, mAP@0.5, mAP@0.5:0.95) of the EMA model as YOLOv5 validates it;
- label_caches: what YOLOv5's label scan found (images, label files found, missing, empty, corrupt, warnings),
  read from the caches it wrote into the dataset copy (its own summary is a progress-bar description, which the
  log never holds); also written to the log and the summary.
With --json it prints one JSON object on stdout, otherwise a readable summary. The same JSON is written to
<run dir>/baseline.json. YOLOv5's progress (its log and bars) goes to stderr only if stderr is a terminal;
the whole YOLOv5 log is always written to <run dir>/yolov5.log.

Files: under --out (default a new temporary directory, kept) the run directory yolov5[N]/ holds YOLOv5's own
outputs (results.csv, opt.yaml, hyp.yaml, weights/last.pt and best.pt, TensorBoard events), a copy of the
dataset (data/, hard links where possible, with a data.yaml whose `path` is absolute; YOLOv5 writes its label
caches there, never into --data, since caches of one YOLO release can crash another) and the model YAML used
when the script wrote one (--width-multiple, --no-p5).

Offline on CPU (see the project's notes on running YOLOv5): YOLOv5's download/font/requirements checks are
replaced by no-ops (train.check_requirements, general.check_requirements, general.check_font, plots.check_font,
train.attempt_download_from_hub), internet sockets are refused, NumPy 2's missing np.trapz is aliased to
np.trapezoid, and TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 lets the run reload its own last.pt / best.pt.
PyPI's torchvision 0.28.0 is built against CUDA torch: when its `_C.so` (which holds the CPU `torchvision::nms`
kernel YOLOv5's NMS calls) cannot load for lack of libcudart / libc10_cuda / libtorch_cuda, empty stand-ins for
those libraries (every CUDA symbol `_C.so` needs, as a function returning 0, never called on CPU) are compiled
once into <venv>/cuda-stubs with the system C compiler and loaded (RTLD_GLOBAL) before torchvision, so
torchvision's own, unmodified binary loads and runs its CPU kernels. With a CPU build of torchvision nothing is
compiled or loaded.
"""
import argparse
import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

TARGET_MAP50, TARGET_MAP = 0.7, 0.4  # time to accuracy: the first epoch with mAP@0.5 >= 0.7 and mAP@0.5:0.95 >= 0.4
TAIL = 10  # the mean of the last TAIL epochs


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Time to accuracy of the real YOLOv5 7.0 trained from scratch (a "
                                            "benchmark baseline for HalfTrace's detector).")
    p.add_argument("--data", required=True, help="YOLO dataset folder: data.yaml, images/{train,val}, labels/...")
    p.add_argument("--epochs", type=int, default=300)
    p.add_argument("--cfg", default="yolov5n.yaml", help="model YAML: a file, or a name in yolov5/models")
    p.add_argument("--width-multiple", type=float, default=None,
                   help="train a copy of --cfg with this width_multiple (yolov5n: 0.25)")
    p.add_argument("--no-p5", action="store_true",
                   help="train --cfg's multiples and first two anchor rows in HalfTrace's detector layout: no P5/32 "
                        "level, Detect on P3/8 and P4/16 (see the docstring)")
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--imgsz", type=int, default=64)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads and OMP_NUM_THREADS")
    p.add_argument("--seed", type=int, default=0, help="train.py's --seed")
    p.add_argument("--out", default=None, help="directory for YOLOv5's run directory (default: a new temp dir)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    a = p.parse_args(argv)
    if a.threads < 1 or a.epochs < 1 or a.batch < 1:
        p.error("--threads, --epochs and --batch must be positive")
    if a.width_multiple is not None and not a.width_multiple > 0:
        p.error("--width-multiple must be positive")
    return a


ARGS = parse_args()
PROGRESS = sys.stderr.isatty()

# Before torch / tqdm / huggingface_hub are imported.
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"  # torch >= 2.6: the run reloads its own last.pt / best.pt
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["CUDA_VISIBLE_DEVICES"] = "-1"
if not PROGRESS:
    os.environ["TQDM_DISABLE"] = "1"  # tqdm >= 4.66 reads TQDM_* defaults from the environment
# Harmless on CPU, repeated for every batch: YOLOv5 7.0 calls torch.cuda.amp.autocast(enabled=False) and imports
# pkg_resources.
warnings.filterwarnings("ignore", message=r"`torch\.cuda\.amp\..*` is deprecated", category=FutureWarning)
warnings.filterwarnings("ignore", message=r"pkg_resources is deprecated", category=UserWarning)


def refuse_internet():
    """Fail fast (instead of hanging) if anything in YOLOv5 still tries to reach the network."""
    connect = socket.socket.connect

    def guarded(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"yolov5_detector_baseline.py runs offline: refused a connection to {address}")
        return connect(self, address)

    socket.socket.connect = guarded


refuse_internet()

import numpy as np  # noqa: E402

if not hasattr(np, "trapz"):
    np.trapz = np.trapezoid  # NumPy 2 removed trapz; yolov5.utils.metrics.compute_ap calls it

import torch  # noqa: E402


# ----------------------------------------------------------------------------------------------------------
# torchvision on a CPU torch (the mechanism of Tests/HalfTraceTests/Fixtures/record_yolov5_detector.py)
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


def _cuda_libs_missing(so):
    try:
        ctypes.CDLL(str(so))
        return False
    except OSError as e:
        if not any(s in str(e) for s in ("libcudart", "libc10_cuda", "libtorch_cuda")):
            raise
        return True


def ensure_torchvision_loads():
    """Load empty CUDA stand-ins if torchvision's _C.so was linked against CUDA torch (see the docstring)."""
    spec = importlib.util.find_spec("torchvision")
    so = Path(spec.submodule_search_locations[0]) / "_C.so"
    if not _cuda_libs_missing(so):
        return None
    stub_dir = Path(sys.prefix) / "cuda-stubs"
    needed = subprocess.run(["readelf", "-d", str(so)], capture_output=True, text=True, check=True).stdout
    cudart = next(w.strip("[]") for w in needed.split() if w.startswith("[libcudart.so"))
    libs = [cudart, "libc10_cuda.so", "libtorch_cuda.so"]
    if all((stub_dir / lib).is_file() for lib in libs):  # built before (by this script or the fixture recorder)
        for lib in libs:
            ctypes.CDLL(str(stub_dir / lib), mode=ctypes.RTLD_GLOBAL)
        if not _cuda_libs_missing(so):
            return f"torchvision's _C.so needs CUDA libraries; loaded the empty stand-ins in {stub_dir}"
    stub_dir.mkdir(exist_ok=True)
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
        tmp = stub_dir / (lib + f".tmp{os.getpid()}")  # never rewrite a library another process has mapped
        cmd = ["cc", "-shared", "-fPIC", "-o", str(tmp), f"-Wl,-soname,{lib}", str(c)]
        if lib == cudart:
            (stub_dir / "cudart.map").write_text(f"{cudart} {{ global: *; }};\n")
            cmd.append(f"-Wl,--version-script={stub_dir / 'cudart.map'}")
        subprocess.run(cmd, check=True)
        os.replace(tmp, stub_dir / lib)
        ctypes.CDLL(str(stub_dir / lib), mode=ctypes.RTLD_GLOBAL)
    return f"torchvision's _C.so needs CUDA libraries; compiled and loaded empty stand-ins in {stub_dir}"


TORCHVISION_NOTE = ensure_torchvision_loads()

import torchvision  # noqa: E402
import yaml  # noqa: E402

import yolov5  # noqa: E402
import yolov5.train as yolo_train  # noqa: E402
import yolov5.utils.general as general  # noqa: E402
import yolov5.utils.plots as plots  # noqa: E402
from yolov5.utils.callbacks import Callbacks  # noqa: E402
from yolov5.utils.general import increment_path  # noqa: E402


def offline_patches():
    """YOLOv5's network checks, as no-ops. Returns what was patched (for the report)."""
    def no_op(*args, **kwargs):
        return None

    patched = []
    for module, name in [(yolo_train, "check_requirements"), (general, "check_requirements"),
                         (general, "check_font"), (plots, "check_font"),
                         (yolo_train, "attempt_download_from_hub")]:
        setattr(module, name, no_op)
        patched.append(f"{module.__name__}.{name}")
    return patched


PATCHED = offline_patches()


# ----------------------------------------------------------------------------------------------------------
# inputs: the dataset copy and the model YAML
# ----------------------------------------------------------------------------------------------------------

def _link_or_copy(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def copy_dataset(src_dir, dst_dir):
    """A copy of the YOLO folder (images/, labels/, hard links where possible) and a data.yaml with an absolute
    path (YOLOv5 resolves a relative `path:` against its own package directory)."""
    src_dir = Path(src_dir).resolve()
    src_yaml = src_dir / "data.yaml"
    if not src_yaml.is_file():
        sys.exit(f"error: {src_yaml} not found (--data must be a folder written by `halftrace data --out DIR`)")
    data = yaml.safe_load(src_yaml.read_text())
    base = Path(data.get("path") or src_dir)
    if not base.is_absolute():
        base = src_dir / base
    base = base.resolve()
    for sub in ("images", "labels"):
        if (base / sub).is_dir():
            shutil.copytree(base / sub, dst_dir / sub, copy_function=_link_or_copy)
    if not (dst_dir / "images").is_dir():
        sys.exit(f"error: no images/ folder in {base}")
    for k in ("train", "val", "test"):
        v = data.get(k)
        if isinstance(v, str) and Path(v).is_absolute():  # keep it inside the copy when it points into the data
            with contextlib.suppress(ValueError):
                data[k] = str(Path(v).resolve().relative_to(base))
    data["path"] = str(dst_dir.resolve())
    (dst_dir / "data.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return dst_dir / "data.yaml", data


# HalfTrace's detector (Sources/HalfTraceDetection/Detector.swift) as a YOLOv5 model YAML: the layers of
# models/yolov5n.yaml without the P5/32 level, the SPPF on P4/16, Detect on P3/8 (layer 11) and P4/16 (layer 14).
# Channels and repeats are yolov5n's base values, scaled by the depth_multiple / width_multiple of --cfg.
P3P4_LAYERS = {
    "backbone": [[-1, 1, "Conv", [64, 6, 2, 2]],  # 0-P1/2
                 [-1, 1, "Conv", [128, 3, 2]],  # 1-P2/4
                 [-1, 3, "C3", [128]],
                 [-1, 1, "Conv", [256, 3, 2]],  # 3-P3/8
                 [-1, 6, "C3", [256]],
                 [-1, 1, "Conv", [512, 3, 2]],  # 5-P4/16
                 [-1, 3, "C3", [512]],
                 [-1, 1, "SPPF", [512, 5]]],  # 7
    "head": [[-1, 1, "Conv", [256, 1, 1]],  # 8
             [-1, 1, "nn.Upsample", [None, 2, "nearest"]],
             [[-1, 4], 1, "Concat", [1]],
             [-1, 3, "C3", [256, False]],  # 11 (P3/8)
             [-1, 1, "Conv", [256, 3, 2]],
             [[-1, 8], 1, "Concat", [1]],
             [-1, 3, "C3", [512, False]],  # 14 (P4/16)
             [[11, 14], 1, "Detect", ["nc", "anchors"]]],
}


def model_yaml(cfg, width_multiple, no_p5, run_dir):
    path = Path(cfg)
    if not path.is_file():
        path = Path(yolov5.__file__).parent / "models" / cfg
    if not path.is_file():
        sys.exit(f"error: model YAML {cfg} not found (a file, or a name in {path.parent})")
    path = path.resolve()
    text = path.read_text()
    base = yaml.safe_load(text)
    width = float(base["width_multiple"]) if width_multiple is None else width_multiple
    if no_p5:
        stock = yaml.safe_load((Path(yolov5.__file__).parent / "models" / "yolov5n.yaml").read_text())
        anchors = base.get("anchors")
        if (base.get("backbone"), base.get("head")) != (stock["backbone"], stock["head"]) or not (
                isinstance(anchors, list) and len(anchors) == 3):
            sys.exit(f"error: --no-p5 needs a YOLOv5 v7.0 P5 model YAML with the layers of yolov5n/s/m/l/x.yaml "
                     f"and three anchor rows; {path} is not one")
        doc = {"nc": base["nc"], "depth_multiple": base["depth_multiple"], "width_multiple": width}
        if "activation" in base:
            doc["activation"] = base["activation"]
        doc["anchors"] = anchors[:2]
        text = f"# {path.name} in HalfTrace's detector layout (no P5/32 level): yolov5_detector_baseline.py --no-p5\n"
        text += yaml.safe_dump(doc, sort_keys=False, default_flow_style=None)
        for part, layers in P3P4_LAYERS.items():  # one layer a line, as in YOLOv5's own YAMLs
            text += f"{part}:\n" + "".join(f"  - {yaml.safe_dump(x, default_flow_style=True).strip()}\n"
                                            for x in layers)
        assert {k: v for k, v in yaml.safe_load(text).items() if k in P3P4_LAYERS} == P3P4_LAYERS
        suffix = "-p3p4" + ("" if width_multiple is None else f"-w{width_multiple:g}")
        out = run_dir / f"{path.stem}{suffix}.yaml"
        out.write_text(text)
        return out, width
    if width_multiple is None:
        return path, width
    text, n = re.subn(r"(?m)^(width_multiple:\s*)[0-9.eE+-]+", lambda m: f"{m.group(1)}{width_multiple!r}", text)
    assert n == 1, f"no width_multiple line in {path}"
    out = run_dir / f"{path.stem}-w{width_multiple:g}.yaml"
    out.write_text(text)
    return out, width_multiple


# ----------------------------------------------------------------------------------------------------------
# the run
# ----------------------------------------------------------------------------------------------------------

class Recorder:
    """YOLOv5 callbacks: the clock at the first epoch and at each epoch's end of validation, and the metrics."""

    def __init__(self, epochs):
        self.epochs = epochs
        self.t_main = self.t_train = None
        self.params = None
        self.rows = []

    def on_pretrain_routine_start(self):
        self.t_main = time.perf_counter()

    def on_train_start(self):
        self.t_train = time.perf_counter()

    def on_train_batch_end(self, model, *args):
        if self.params is None:
            self.params = sum(p.numel() for p in model.parameters())

    def on_fit_epoch_end(self, vals, epoch, best_fitness, fi):
        now = time.perf_counter() - self.t_train
        p, r, map50, map_ = (float(v) for v in vals[3:7])  # vals = 3 train losses, P, R, mAP@.5, mAP@.5:.95, ...
        prev = self.rows[-1]["seconds"] if self.rows else 0.0
        self.rows.append({"epoch": int(epoch), "seconds": round(now, 3), "epoch_seconds": round(now - prev, 3),
                          "precision": p, "recall": r, "map50": map50, "map50_95": map_})
        if PROGRESS:
            LOG.info(f"[baseline] epoch {epoch + 1}/{self.epochs}: {now:.1f} s, P {p:.3f} R {r:.3f} "
                     f"mAP@0.5 {map50:.3f} mAP@0.5:0.95 {map_:.3f}")

    def callbacks(self):
        cb = Callbacks()
        for hook in ("on_pretrain_routine_start", "on_train_start", "on_train_batch_end", "on_fit_epoch_end"):
            cb.register_action(hook, name="baseline", callback=getattr(self, hook))
        return cb


LOG = general.LOGGER


class PlainFormatter(logging.Formatter):
    def format(self, record):
        return re.sub(r"\x1b\[[0-9;]*m", "", super().format(record))  # without YOLOv5's colours


def setup_logging(run_dir):
    for h in LOG.handlers:  # YOLOv5's stderr handler: progress only on a terminal (warnings always)
        if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
            h.setLevel(logging.INFO if PROGRESS else logging.WARNING)
    LOG.setLevel(logging.INFO)
    fh = logging.FileHandler(run_dir / "yolov5.log")
    fh.setFormatter(PlainFormatter("%(message)s"))
    fh.setLevel(logging.INFO)
    LOG.addHandler(fh)


def train(args):
    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="yolov5-baseline-"))
    out.mkdir(parents=True, exist_ok=True)
    out = out.resolve()
    run_dir = increment_path(out / "yolov5", mkdir=True)
    setup_logging(run_dir)
    data_yaml, data = copy_dataset(args.data, run_dir / "data")
    cfg, width = model_yaml(args.cfg, args.width_multiple, args.no_p5, run_dir)

    saved_argv = sys.argv
    sys.argv = sys.argv[:1]  # train.parse_opt reads sys.argv: give it YOLOv5's defaults only
    try:
        opt = yolo_train.parse_opt(known=True)
    finally:
        sys.argv = saved_argv
    settings = dict(data=str(data_yaml), cfg=str(cfg), weights="", epochs=args.epochs, batch_size=args.batch,
                    imgsz=args.imgsz, workers=0, noplots=True, noval=False, device="cpu", optimizer="SGD",
                    seed=args.seed, project=str(out), name=run_dir.name, exist_ok=True)
    for k, v in settings.items():
        setattr(opt, k, v)
    hyp_name = Path(str(opt.hyp)).name  # train() replaces opt.hyp by the dict it loads

    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # yolov5.utils.general rewrites it on import
    rec = Recorder(args.epochs)
    sink = sys.stderr if PROGRESS else open(os.devnull, "w")
    with contextlib.redirect_stdout(sink):  # keep stdout for the report
        yolo_train.main(opt, callbacks=rec.callbacks())
    t_end = time.perf_counter()
    if sink is not sys.stderr:
        sink.close()
    assert Path(opt.save_dir).resolve() == run_dir, (opt.save_dir, run_dir)
    caches = label_caches(run_dir / "data")
    return report(args, opt, rec, run_dir, cfg, width, data, t_end, hyp_name, caches)


def label_caches(data_dir):
    """What YOLOv5's label scan found, from the caches it wrote into the copy of the dataset (its own summary line
    is a progress-bar description, which never reaches the log). Also written to yolov5.log."""
    out = {}
    for path in sorted(data_dir.rglob("*.cache")):
        c = np.load(path, allow_pickle=True).item()
        nf, nm, ne, nc, n = (int(v) for v in c["results"])
        out[str(path.relative_to(data_dir))] = {"images": n, "labelled": nf, "missing": nm, "empty": ne,
                                                "corrupt": nc, "warnings": [str(m) for m in c["msgs"]]}
        LOG.info(f"[baseline] {path.relative_to(data_dir)}: {n} images, {nf} label files found, {nm} missing, "
                 f"{ne} empty, {nc} corrupt, {len(c['msgs'])} warnings")
    return out


def report(args, opt, rec, run_dir, cfg, width, data, t_end, hyp_name, caches):
    rows = rec.rows
    if not rows:
        sys.exit("error: YOLOv5 finished without validating an epoch")
    hit = next((r for r in rows if r["map50"] >= TARGET_MAP50 and r["map50_95"] >= TARGET_MAP), None)
    tail = rows[-TAIL:]
    final = rows[-1]
    best = max(rows, key=lambda r: 0.1 * r["map50"] + 0.9 * r["map50_95"])  # YOLOv5's fitness
    return {
        "benchmark": "YOLOv5 detector baseline (real yolov5 pip package, from scratch, CPU)",
        "versions": {"yolov5": yolov5.__version__, "torch": torch.__version__, "torchvision": torchvision.__version__,
                     "numpy": np.__version__, "python": platform.python_version()},
        "settings": {"data": str(Path(args.data).resolve()), "names": data.get("names"), "cfg": str(cfg),
                     "width_multiple": width, "no_p5": args.no_p5, "epochs": args.epochs, "batch": args.batch,
                     "imgsz": args.imgsz,
                     "threads": args.threads, "seed": args.seed, "optimizer": opt.optimizer,
                     "hyp": hyp_name,
                     "workers": 0, "device": "cpu", "patience": opt.patience},
        "params": rec.params,
        "label_caches": caches,
        "run_dir": str(run_dir),
        "results_csv": str(run_dir / "results.csv"),
        "epochs_completed": len(rows),
        "stopped_early": len(rows) < args.epochs,
        "setup_seconds": round(rec.t_train - rec.t_main, 3),
        "total_seconds": final["seconds"],
        "run_seconds": round(t_end - rec.t_main, 3),
        "target": {"map50": TARGET_MAP50, "map50_95": TARGET_MAP, "reached": hit is not None,
                   "epoch": hit["epoch"] if hit else None, "seconds": hit["seconds"] if hit else None},
        f"last{TAIL}_mean": {"epochs": len(tail), "map50": sum(r["map50"] for r in tail) / len(tail),
                             "map50_95": sum(r["map50_95"] for r in tail) / len(tail)},
        "final": {k: final[k] for k in ("epoch", "precision", "recall", "map50", "map50_95")},
        "best_fitness_epoch": {k: best[k] for k in ("epoch", "seconds", "map50", "map50_95")},
        "torchvision_note": TORCHVISION_NOTE or "torchvision loaded as installed",
        "offline_patches": PATCHED,
        "epoch_table": rows,
    }


def summary(res):
    s, v, t = res["settings"], res["versions"], res["target"]
    tail = res[f"last{TAIL}_mean"]
    lines = [
        f"YOLOv5 {v['yolov5']} (torch {v['torch']}) from scratch: {Path(s['cfg']).name} (width_multiple "
        f"{s['width_multiple']:g}), {res['params']:,} parameters",
        f"  data {s['data']}, imgsz {s['imgsz']}, batch {s['batch']}, {s['optimizer']}, {s['hyp']}, "
        f"{s['threads']} threads, seed {s['seed']}, CPU",
    ]
    for name, c in res["label_caches"].items():
        lines.append(f"  {name}: {c['images']} images, {c['labelled']} label files found, {c['missing']} missing, "
                     f"{c['empty']} empty, {c['corrupt']} corrupt, {len(c['warnings'])} warnings")
    lines.append("  epoch  seconds      P      R  mAP@0.5  mAP@0.5:0.95")
    for r in res["epoch_table"]:
        lines.append(f"  {r['epoch']:5d} {r['seconds']:8.1f} {r['precision']:6.3f} {r['recall']:6.3f} "
                     f"{r['map50']:8.3f} {r['map50_95']:13.3f}")
    if t["reached"]:
        target = f"epoch {t['epoch']} (0-based) at {t['seconds']:.1f} s"
    else:
        target = "not reached"
    f = res["final"]
    lines += [
        f"{res['epochs_completed']} epochs{' (stopped early)' if res['stopped_early'] else ''} in "
        f"{res['total_seconds']:.1f} s (setup {res['setup_seconds']:.1f} s; whole run with the final best.pt "
        f"validation {res['run_seconds']:.1f} s)",
        f"target mAP@0.5 >= {t['map50']} and mAP@0.5:0.95 >= {t['map50_95']}: {target}",
        f"final mAP@0.5 {f['map50']:.3f}, mAP@0.5:0.95 {f['map50_95']:.3f}; mean of the last {tail['epochs']} "
        f"epochs {tail['map50']:.3f} / {tail['map50_95']:.3f}",
        f"run directory {res['run_dir']} (results.csv, weights/, yolov5.log, baseline.json)",
    ]
    return "\n".join(lines)


def main():
    res = train(ARGS)
    Path(res["run_dir"], "baseline.json").write_text(json.dumps(res, indent=1) + "\n")
    print(json.dumps(res) if ARGS.json else summary(res))


if __name__ == "__main__":
    main()
