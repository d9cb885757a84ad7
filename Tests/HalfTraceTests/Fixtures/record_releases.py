"""Records real training runs from many releases of Ultralytics and pip YOLOv5 (plus plain PyTorch
GradScaler loops), each with the per-iteration steps.csv that Tools/halftrace_steps.py writes, so
that `halftrace verify` can be tested against every release line. None of these packages is a
dependency of HalfTrace: they run from environments outside the repository.

Setup (CPU only; every venv gets the CPU torch wheel and no CUDA torch is ever pulled in):

    WHEEL=torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl        # from /opt/wheels
    TORCH_DEPS="filelock fsspec jinja2 networkx sympy typing_extensions"
    # np2: newest Ultralytics (8.3.253, 8.4.x) and the plain PyTorch loops
    python3.11 -m venv /work/realenv
    /work/realenv/bin/pip install --no-deps /opt/wheels/$WHEEL
    /work/realenv/bin/pip install $TORCH_DEPS numpy opencv-python-headless scipy polars pandas \
        matplotlib seaborn pyyaml tqdm requests psutil py-cpuinfo pillow "setuptools>=77.0.3,<81"
    /work/realenv/bin/pip install --no-deps torchvision==0.28.0 ultralytics-thop thop
    # np1: numpy 1.26 for Ultralytics 8.0 - 8.3.0 and yolov5 6.2 / 7.0
    python3.11 -m venv /work/venvs/np1 && /work/venvs/np1/bin/pip install --no-deps /opt/wheels/$WHEEL
    /work/venvs/np1/bin/pip install $TORCH_DEPS numpy==1.26.4 opencv-python-headless==4.10.0.84 \
        scipy==1.13.1 pandas==2.2.3 matplotlib==3.8.4 seaborn==0.13.2 pyyaml tqdm requests psutil \
        py-cpuinfo pillow==10.4.0 "setuptools>=77.0.3,<81" gitpython
    /work/venvs/np1/bin/pip install --no-deps torchvision==0.28.0 thop ultralytics-thop roboflow==1.7.3
    /work/venvs/np1/bin/pip install boto3 fire tensorboard numpy==1.26.4 ipython hub-sdk \
        "huggingface-hub>=0.12,<0.25" requests_toolbelt python-dotenv filetype click \
        "typer>=0.12,<0.26" "pillow-avif-plugin<2"    # yolov5 7.0 / 6.2 and Ultralytics 8.1 imports
    /work/venvs/np1/bin/pip install "hydra-core>=1.2.0"    # Ultralytics 8.0.0 imports hydra
    # np123: numpy 1.23 (np.int) for yolov5 6.0 / 6.1
    python3.11 -m venv /work/venvs/np123 && /work/venvs/np123/bin/pip install --no-deps /opt/wheels/$WHEEL
    /work/venvs/np123/bin/pip install $TORCH_DEPS numpy==1.23.5 opencv-python-headless==4.8.1.78 \
        scipy==1.10.1 pandas==1.5.3 matplotlib==3.7.5 seaborn==0.12.2 pyyaml tqdm requests psutil \
        py-cpuinfo pillow==9.5.0 "setuptools>=77.0.3,<81" gitpython
    /work/venvs/np123/bin/pip install --no-deps torchvision==0.28.0 thop
    /work/venvs/np123/bin/pip install boto3 fire tensorboard numpy==1.23.5

PyPI's torchvision wheels are CUDA builds: their C++ ops cannot load next to the CPU torch, so the
workers register a pure-torch torchvision::nms before importing torchvision (torchvision_cpu_shim).
Each worker also gives the packages a local Arial.ttf (matplotlib's DejaVuSans, see local_fonts),
replaces their online/update/requirement checks by no-ops, and, for YOLOv5 < 6.2, recompiles
ComputeLoss.build_targets with int clamp bounds (yolov5_compat_patches); Ultralytics 8.0.0, whose
YOLO has no add_callback, gets one that adds the callbacks to the trainer YOLO.train builds
(yolo_add_callback_shim); meta.json lists them. (8.0.0 keeps its settings.yaml and Arial.ttf in
~/.config/Ultralytics, whatever YOLO_CONFIG_DIR says: without the font there, its validation-plot
threads fail with "OSError: cannot open resource", which does not affect training.)
Run one release at a time: the releases share the dataset's label caches (deleted before every
case), and yolov5 6.0.x crashes on another release's cache.

The releases themselves are unpacked, not installed: /work/pkgsrc/<pkg>-<version>/ (made with
`pip install --no-deps --target DIR pkg==X`; this script does that itself for a missing one) is
put first on PYTHONPATH, with Tools/ (halftrace_steps.py) after it. Paths can be changed with the
environment variables HALFTRACE_PKGSRC, HALFTRACE_ENV_NP123, HALFTRACE_ENV_NP1, HALFTRACE_ENV_NP2
and HALFTRACE_WORK (scratch: logs, hyp files; default /tmp/halftrace-releases).

Run (any Python 3 starts it; each release runs in its own subprocess with its own venv, inside
`unshare -n` (no network) when that works):

    python3 Tests/HalfTraceTests/Fixtures/record_releases.py                 # everything
    python3 Tests/HalfTraceTests/Fixtures/record_releases.py ultralytics-8.1.47 yolov5-6.0.7/resume torch
    HALFTRACE_ENV_NP2=/work/venvs/torch/bin/python \
        python3 Tests/HalfTraceTests/Fixtures/record_releases.py --logger-cases   # only TORCH_LOGGER_CASES

It writes Tests/HalfTraceTests/Fixtures/real/releases/<ultralytics|yolov5>-<version>/<case>/ and
releases/torch-<torch version>/<case>/: the run directory's own text files as the package wrote
them (Ultralytics: args.yaml, results.csv; YOLOv5: opt.yaml, hyp.yaml, results.csv), steps.csv
and meta.json. Weights, plots and the dataset's label caches are deleted. Every run uses the
working directory Fixtures/real and the data string "dataset/data.yaml" (the synthetic set of
record_real.py: 96 + 16 images of 64 px, 3 classes), imgsz 64, workers 0, device cpu, seed 0 (where
the release has one), model yolov8n.yaml (Ultralytics) or yolov5n.yaml with weights '' (YOLOv5).

Cases (a release that cannot express one skips it):
  sgd        SGD, lr0 0.01, batch 8 (nb 12), 12 epochs, warmup_epochs 2.0
  auto_cos   Ultralytics >= 8.0.113: optimizer auto, cos_lr, batch 16 (nb 6), 10 epochs, warmup_epochs 1.0
  cos        YOLOv5: SGD with --cos-lr (6.1+) or the default cosine (6.0), batch 16, 10 epochs,
             hyp warmup_epochs 1.0, warmup_momentum 0.5, warmup_bias_lr 0.05, lrf 0.1
  warmup0    SGD, warmup_epochs 0, batch 24 (nb 4, accumulate 3), 10 epochs
  adam       Adam, lr0 0.001, batch 16, 8 epochs
  resume     SGD, batch 16, 8 epochs, warmup_epochs 1.0; an exception from an on_train_batch_end
             callback at epoch 4, batch 3 interrupts it, then it is resumed from weights/last.pt
  musgd      Ultralytics 8.4: MuSGD, batch 16, 6 epochs
  auto_long  Ultralytics 8.0.113 - 8.4: optimizer auto, batch 16, epochs 20000 (auto picks SGD up to
             8.4.2 and MuSGD from 8.4.3), stopped cleanly after 3 epochs (trainer.stop, set in
             on_train_epoch_end and again in on_fit_epoch_end: 8.0.x assigns the stopper's result between them)
  b40_warmup SGD, lr0 0.01, batch 40 (nb = ceil(96/40) = 3, nbs/batch = 1.6: the warm-up ramps accumulate
             from 1 towards 1.6, rounded), 40 epochs, warmup_epochs 3.0; every Ultralytics release and
             YOLOv5 6.1.0, 6.1.5, 6.2.3, 7.0.14 (hyp: the scratch hyp with warmup_epochs 3.0, linear)
  long_warmup YOLOv5 6.0.7: batch 40 (nb 3), 340 epochs (1020 iterations), warmup_epochs 3.0, --linear-lr,
             SGD, patience 0 (no early stop): 6.0's warm-up floor of 1000 iterations ends inside the run
  resume_late SGD, batch 4 (nb 24, accumulate 16), 8 epochs, warmup_epochs 1.0 (nw = 100 with the floor:
             the warm-up ends in epoch 4); interrupted at epoch 6, batch 3 (last.pt holds epoch 5) and
             resumed like `resume`; Ultralytics 8.0.0 - 8.1.47, every YOLOv5 release
  warmup_past_floor SGD, lr0 0.01, linear, batch 8 (nb 12), 12 epochs, warmup_epochs 10.0: round(10 * 12) =
             120 exceeds the 100-iteration floor, so nw = 120 and the warm-up ends inside the 144-iteration
             run (epoch 10); Ultralytics 8.0.0, 8.0.113 - 8.0.119, 8.3.253, 8.4.3, 8.4.177, YOLOv5 6.1.0
             and 7.0.14 (hyp warmup_epochs 10.0; not 6.0.x, whose floor is 1000: see long_warmup)
  torch_amp_sgdr, torch_amp_default: plain PyTorch loops with torch.amp.GradScaler("cpu") (see
             record_torch below); recorded before the logger wrote its `# scaler:` line: a
             re-recording adds that line and nothing else, and the tests use these two as logs
             without it
  torch_everyk_stepped, torch_everyk_dropped, torch_resume_marker: plain PyTorch loops recorded with
             the logger that writes the `# scaler:` and `# resumed at ni=` lines, only with
             --logger-cases (neither "everything" nor `torch` records them; see logger_loop below)
YOLOv5 hyps are the release's own hyp.scratch-low.yaml (else hyp.scratch.yaml) with the case's
changes, passed with --hyp; YOLOv5 6.0.x runs the linear cases with --linear-lr.
"""
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
REAL = HERE / "real"
OUT = REAL / "releases"
TOOLS = HERE.parents[2] / "Tools"  # halftrace_steps.py
DATA = "dataset/data.yaml"  # relative to REAL, the working directory of every run
PKGSRC = Path(os.environ.get("HALFTRACE_PKGSRC", "/work/pkgsrc"))
WORK = Path(os.environ.get("HALFTRACE_WORK", "/tmp/halftrace-releases"))
ENVS = {
    "np123": os.environ.get("HALFTRACE_ENV_NP123", "/work/venvs/np123/bin/python"),
    "np1": os.environ.get("HALFTRACE_ENV_NP1", "/work/venvs/np1/bin/python"),
    "np2": os.environ.get("HALFTRACE_ENV_NP2", "/work/realenv/bin/python"),
}

UL_ALL = ["sgd", "warmup0", "adam", "resume"]
UL_AUTO = ["sgd", "auto_cos", "warmup0", "adam", "resume"]
UL_84 = UL_AUTO + ["musgd", "auto_long", "b40_warmup"]
Y5 = ["sgd", "cos", "warmup0", "adam", "resume"]
# key: (environment, cases, extra unpacked releases put on PYTHONPATH after the release itself)
RELEASES = {
    "ultralytics-8.0.0": ("np1", UL_ALL + ["b40_warmup", "resume_late", "warmup_past_floor"], []),
    "ultralytics-8.0.50": ("np1", UL_ALL + ["b40_warmup", "resume_late"], []),
    "ultralytics-8.0.113": ("np1", UL_AUTO + ["b40_warmup", "resume_late", "auto_long", "warmup_past_floor"], []),
    "ultralytics-8.0.114": ("np1", UL_AUTO + ["b40_warmup", "resume_late", "auto_long", "warmup_past_floor"], []),
    "ultralytics-8.0.119": ("np1", UL_AUTO + ["b40_warmup", "resume_late", "auto_long", "warmup_past_floor"], []),
    "ultralytics-8.0.200": ("np1", UL_AUTO + ["b40_warmup", "resume_late", "auto_long"], []),
    "ultralytics-8.1.0": ("np1", UL_AUTO + ["b40_warmup", "resume_late", "auto_long"], []),
    "ultralytics-8.1.47": ("np1", UL_AUTO + ["b40_warmup", "resume_late", "auto_long"], []),
    "ultralytics-8.2.103": ("np1", UL_AUTO + ["b40_warmup", "auto_long"], []),
    "ultralytics-8.3.0": ("np1", UL_AUTO + ["b40_warmup", "auto_long"], []),
    "ultralytics-8.3.253": ("np2", UL_AUTO + ["auto_long", "b40_warmup", "warmup_past_floor"], []),
    "ultralytics-8.4.2": ("np2", UL_84, []),
    "ultralytics-8.4.3": ("np2", UL_84 + ["warmup_past_floor"], []),
    "ultralytics-8.4.60": ("np2", UL_84, []),
    "ultralytics-8.4.150": ("np2", UL_84, []),
    "ultralytics-8.4.177": ("np2", UL_84 + ["warmup_past_floor"], []),
    "ultralytics-8.4.190": ("np2", UL_84, []),
    "yolov5-6.0.7": ("np123", Y5 + ["long_warmup", "resume_late"], []),
    "yolov5-6.1.0": ("np123", Y5 + ["b40_warmup", "resume_late", "warmup_past_floor"], []),
    "yolov5-6.1.5": ("np123", Y5 + ["b40_warmup", "resume_late"], []),
    "yolov5-6.2.3": ("np1", Y5 + ["b40_warmup", "resume_late"], []),
    # yolov5 7.0.14's utils/general.py imports ultralytics.utils.checks (check_requirements, which
    # is replaced by a no-op here): any Ultralytics >= 8.0.136 that runs on numpy 1 will do.
    "yolov5-7.0.14": ("np1", Y5 + ["b40_warmup", "resume_late", "warmup_past_floor"], ["ultralytics-8.2.103"]),
    "torch": ("np2", ["torch_amp_sgdr", "torch_amp_default"], []),
}
# Recorded only with --logger-cases (or named, e.g. torch/torch_resume_marker): plain PyTorch loops
# written by the logger with the `# scaler:` and `# resumed at ni=` comment lines.
TORCH_LOGGER_CASES = ["torch_everyk_stepped", "torch_everyk_dropped", "torch_resume_marker"]

ULTRALYTICS_CASES = {
    "sgd": dict(optimizer="SGD", lr0=0.01, batch=8, epochs=12, warmup_epochs=2.0),
    "auto_cos": dict(optimizer="auto", cos_lr=True, batch=16, epochs=10, warmup_epochs=1.0),
    "warmup0": dict(optimizer="SGD", warmup_epochs=0.0, batch=24, epochs=10),
    "adam": dict(optimizer="Adam", lr0=0.001, batch=16, epochs=8),
    "resume": dict(optimizer="SGD", batch=16, epochs=8, warmup_epochs=1.0),
    "musgd": dict(optimizer="MuSGD", batch=16, epochs=6),
    "auto_long": dict(optimizer="auto", batch=16, epochs=20000),
    "b40_warmup": dict(optimizer="SGD", lr0=0.01, batch=40, epochs=40, warmup_epochs=3.0),
    "resume_late": dict(optimizer="SGD", batch=4, epochs=8, warmup_epochs=1.0),
    "warmup_past_floor": dict(optimizer="SGD", lr0=0.01, batch=8, epochs=12, warmup_epochs=10.0),
}
YOLOV5_CASES = {  # (options, hyp changes, optimizer, cosine)
    "sgd": (dict(batch_size=8, epochs=12), dict(warmup_epochs=2.0), "SGD", False),
    "cos": (dict(batch_size=16, epochs=10), dict(warmup_epochs=1.0, warmup_momentum=0.5, warmup_bias_lr=0.05, lrf=0.1), "SGD", True),
    "warmup0": (dict(batch_size=24, epochs=10), dict(warmup_epochs=0.0), "SGD", False),
    "adam": (dict(batch_size=16, epochs=8), dict(lr0=0.001), "Adam", False),
    "resume": (dict(batch_size=16, epochs=8), dict(warmup_epochs=1.0), "SGD", False),
    "b40_warmup": (dict(batch_size=40, epochs=40), dict(warmup_epochs=3.0), "SGD", False),
    "long_warmup": (dict(batch_size=40, epochs=340, patience=0), dict(warmup_epochs=3.0), "SGD", False),
    "resume_late": (dict(batch_size=4, epochs=8), dict(warmup_epochs=1.0), "SGD", False),
    "warmup_past_floor": (dict(batch_size=8, epochs=12), dict(warmup_epochs=10.0), "SGD", False),
}
INTERRUPTS = {"resume": (4, 3), "resume_late": (6, 3)}  # (epoch, batch index i) whose on_train_batch_end raises
STOP_AFTER_EPOCHS = 3  # auto_long
# meta.json "description" of the cases added later (the earlier cases are described by the docstring above)
DESCRIPTIONS = {
    "b40_warmup": "SGD, lr0 0.01, batch 40 on 96 images: nb = ceil(96/40) = 3 (the last batch has 16 images), 40 epochs = "
                  "120 iterations, warmup_epochs 3.0 (round(3.0 * nb) = 9 iterations before any floor the release applies: "
                  "Ultralytics <= 8.4.102 and YOLOv5 6.1+ use max(9, 100) = 100). nbs/batch = 64/40 = 1.6 is not an integer: "
                  "accumulate starts at max(round(1.6), 1) = 2 and the warm-up sets it to round(interp(ni, [0, nw], [1, 1.6])) "
                  "(1 while 1 + 0.6 * ni / nw < 1.5, i.e. ni < 5/6 of nw, then 2; Ultralytics >= 8.4.183 interpolates to the rounded 2 "
                  "instead).",
    "long_warmup": "YOLOv5 6.0.x warm-up floor: SGD, --linear-lr, batch 40 (nb 3), 340 epochs = 1020 iterations, hyp warmup_epochs "
                   "3.0 so nw = max(round(3.0 * 3), 1000) = 1000: the warm-up (ni <= nw) covers ni 0..1000 (its last iteration is "
                   "epoch 333, i 1) and ni 1001..1019 run after it, at accumulate round(64/40) = 2 after ramping within [1, 1.6]. "
                   "patience 0 turns EarlyStopping off so every epoch runs; it validates every epoch (16 images).",
    "resume_late": "Resume after the warm-up: SGD, batch 4 (nb 24, accumulate round(64/4) = 16), 8 epochs = 192 iterations, "
                   "warmup_epochs 1.0 so nw = max(round(1.0 * 24), 100) = 100 (YOLOv5 6.0.x: floor 1000, so the whole run is "
                   "warm-up): the warm-up ends at ni 100 (epoch 4, i 4). An exception from an on_train_batch_end callback at "
                   "epoch 6, batch 3 interrupts it (last.pt holds epoch 5), then it is resumed from weights/last.pt; the "
                   "resumed part starts at epoch 6, i 0 with last_opt_step = -1.",
    "auto_long": "optimizer auto with epochs 20000, batch 16 (nb 6): auto sees more than 10000 iterations (8.0.113: more than 6000) "
                 "and builds SGD (lr0 0.01, momentum 0.9, warmup_bias_lr forced to 0.0) up to 8.4.2, MuSGD from 8.4.3; the run is "
                 "stopped cleanly after 3 epochs with trainer.stop, so the schedule is that of a 20000-epoch run.",
    "warmup_past_floor": "A warm-up longer than the 100-iteration floor: SGD, lr0 0.01, linear, batch 8 (nb 12, accumulate "
                         "round(64/8) = 8), 12 epochs = 144 iterations, warmup_epochs 10.0 so round(10.0 * 12) = 120 > 100: "
                         "nw = max(120, 100) = 120 (YOLOv5 6.1+, Ultralytics <= 8.4.102; the warm-up runs while ni <= 120, i.e. "
                         "up to epoch 10, i 0) or round(min(10.0, 12 - 1) * 12) = 120 (Ultralytics 8.4.103+: while ni < 120 up "
                         "to 8.4.182, ni <= 120 from 8.4.183); ni 121..143 run after it. accumulate ramps from 1 to 8 across "
                         "the 120 iterations.",
}
KEEP = {"ultralytics": {"args.yaml", "results.csv", "steps.csv"}, "yolov5": {"opt.yaml", "hyp.yaml", "results.csv", "steps.csv"}}


class Interrupted(Exception):
    """Raised from a callback to interrupt a run mid-epoch (the resume case)."""


# ----------------------------------------------------------------------------------------------
# helpers used in the workers


def each_case(cases, record):
    """Records every case; a failing one is reported and the others still run."""
    failed = []
    for case in cases:
        try:
            record(case)
        except Exception:
            traceback.print_exc()
            print(f"[record] FAILED {case}", flush=True)
            failed.append(case)
    if failed:
        raise RuntimeError(f"failed cases: {failed}")


def torchvision_cpu_shim():
    """PyPI's torchvision wheels are CUDA builds whose _C.so cannot load next to the CPU torch, and
    torchvision then fails at import (it registers a fake kernel for torchvision::nms). Define the
    nms/qnms operator schemas and a pure-torch CPU nms (greedy, highest score first, suppressing
    IoU > threshold, as torchvision's CPU kernel) before importing torchvision."""
    import torch

    def nms(dets, scores, iou_threshold):
        if dets.numel() == 0:
            return torch.empty((0,), dtype=torch.long, device=dets.device)
        order = torch.argsort(scores, descending=True, stable=True)
        d = dets[order].double()
        x1, y1, x2, y2 = d.unbind(1)
        areas = (x2 - x1) * (y2 - y1)
        w = (torch.minimum(x2[:, None], x2[None]) - torch.maximum(x1[:, None], x1[None])).clamp(min=0)
        h = (torch.minimum(y2[:, None], y2[None]) - torch.maximum(y1[:, None], y1[None])).clamp(min=0)
        inter = w * h
        rows = ((inter / (areas[:, None] + areas[None] - inter)) > iou_threshold).tolist()
        removed, keep = [False] * len(rows), []
        for a, row in enumerate(rows):
            if not removed[a]:
                keep.append(a)
                for b in range(a + 1, len(rows)):
                    removed[b] = removed[b] or row[b]
        return order[torch.tensor(keep, dtype=torch.long)]

    lib = torch.library.Library("torchvision", "DEF")
    lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    lib.impl("nms", nms, "CPU")
    torchvision_cpu_shim.lib = lib  # keep the registration alive
    import torchvision.extension

    torchvision.extension._has_ops = lambda: True  # torchvision.ops.nms asserts it


def common_setup():
    import numpy as np

    if not hasattr(np, "trapz"):
        np.trapz = np.trapezoid  # NumPy 2 removed trapz; the validators use it
    torchvision_cpu_shim()


def no_network_patches(prefix):
    """Replace download/online/update checks in every loaded module of the package by no-ops.
    YOLOv5 keeps its check_font (it returns the font it draws with, found by local_fonts)."""
    patched = set()
    stubs = {} if prefix == "yolov5" else {"check_font": lambda *a, **k: None}
    stubs.update({
        "check_requirements": lambda *a, **k: True,
        "check_git_status": lambda *a, **k: None,
        "check_pip_update_available": lambda *a, **k: False,
        "is_online": lambda *a, **k: False,
    })
    for name, mod in list(sys.modules.items()):
        if not (name == prefix or name.startswith(prefix + ".")) or mod is None:
            continue
        for attr, stub in stubs.items():
            if callable(getattr(mod, attr, None)) and getattr(mod, attr) is not stub:
                setattr(mod, attr, stub)
                patched.add(attr)
        if getattr(mod, "ONLINE", None) is True:
            mod.ONLINE = False
            patched.add("ONLINE")
    return sorted(patched)


def flush_steps_logs():
    """halftrace_steps.StepsLog keeps an epoch's rows in memory until the next epoch, close() (the
    on_train_end callback) or exit: write them before steps.csv is read, i.e. after an interrupted
    part and where nothing closes the log (the StepsLog inserted into YOLOv5 < 6.1.2's train.py).
    flush() only writes: the log stays open, as it would."""
    import halftrace_steps

    for log in list(getattr(halftrace_steps, "_open_logs", [])):
        log.flush()


def close_tensorboard_writers():
    """YOLOv5's Loggers never close their TensorBoard SummaryWriter, and tensorboard's writer reopens
    its event file to append at every flush: close every writer of the process before keep_only, so
    that none re-creates an event file in a run directory later (when it is flushed or collected)."""
    import gc

    gc.collect()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:
        return
    for obj in gc.get_objects():
        try:
            if isinstance(obj, SummaryWriter):
                obj.close()
        except Exception:
            pass


def keep_only(run: Path, names):
    flush_steps_logs()
    close_tensorboard_writers()
    for p in list(run.iterdir()):
        if p.name not in names:
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def clear_caches():
    for cache in (REAL / "dataset").rglob("*.cache"):  # label caches hold absolute paths
        cache.unlink()


def read_steps(path: Path):
    lines = [l for l in path.read_text().splitlines() if l and not l.startswith("#")]
    header = lines[0].split(",")
    return header, [dict(zip(header, l.split(","))) for l in lines[1:]]


def versions(extra=()):
    import numpy
    import torch

    v = {"torch": torch.__version__, "numpy": numpy.__version__, "python": platform.python_version()}
    for name in ("cv2", "scipy", "pandas", "polars", "PIL", "matplotlib", "yaml", "torchvision") + tuple(extra):
        try:
            v[name] = __import__(name).__version__
        except Exception:
            pass
    return v


def write_meta(run: Path, meta: dict):
    header, rows = read_steps(run / "steps.csv")
    nb = max(int(r["i"]) for r in rows) + 1
    meta = dict(meta)
    meta.update({"nb": nb, "steps_rows": len(rows), "steps_columns": header})
    (run / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


DATASET = {"data": DATA, "training_images": 96, "validation_images": 16, "classes": 3, "imgsz": 64}


# ----------------------------------------------------------------------------------------------
# Ultralytics


def ultralytics_worker(key, version, cases):
    common_setup()
    import ultralytics
    from ultralytics import YOLO
    from halftrace_steps import add_ultralytics_callbacks

    try:
        from ultralytics.utils import DEFAULT_CFG_DICT
    except ImportError:
        try:
            from ultralytics.yolo.utils import DEFAULT_CFG_DICT
        except ImportError:  # 8.0.0
            from ultralytics.yolo.utils import DEFAULT_CONFIG_DICT as DEFAULT_CFG_DICT
    YOLO("yolov8n.yaml")  # imports the detection trainer and validator modules
    patched = yolo_add_callback_shim(YOLO) + no_network_patches("ultralytics")
    return each_case(cases, lambda case: ultralytics_case(key, version, case, YOLO, add_ultralytics_callbacks, DEFAULT_CFG_DICT, patched))


def yolo_add_callback_shim(YOLO):
    """Ultralytics 8.0.0 has no YOLO.add_callback (only BaseTrainer.add_callback): give YOLO one that
    keeps the callbacks and appends them, after the default callbacks, to the trainer its train()
    builds, as YOLO.add_callback does in later releases. Nothing else changes."""
    if hasattr(YOLO, "add_callback"):
        return []
    train = YOLO.train

    def add_callback(self, event, func):
        self.__dict__.setdefault("halftrace_callbacks", []).append((event, func))

    def train_with_callbacks(self, **kwargs):
        trainer_class, callbacks = self.TrainerClass, self.__dict__.get("halftrace_callbacks", [])

        def make_trainer(*args, **kw):
            trainer = trainer_class(*args, **kw)
            for event, func in callbacks:
                trainer.add_callback(event, func)
            return trainer

        self.TrainerClass = make_trainer
        try:
            return train(self, **kwargs)
        finally:
            self.TrainerClass = trainer_class

    YOLO.add_callback, YOLO.train = add_callback, train_with_callbacks
    return ["YOLO.add_callback (absent): the callbacks are added with BaseTrainer.add_callback to the trainer YOLO.train builds"]


def ultralytics_case(key, version, case, YOLO, add_ultralytics_callbacks, DEFAULT_CFG_DICT, patched):
    if True:
        clear_caches()  # another release's label cache can crash a reader (yolov5 6.0.x catches only FileNotFoundError)
        run = OUT / key / case
        shutil.rmtree(run, ignore_errors=True)
        options = dict(ULTRALYTICS_CASES[case])
        settings = dict(data=DATA, imgsz=64, device="cpu", workers=0, seed=0, pretrained=False, amp=False, plots=False,
                        project=str(OUT / key), name=case, exist_ok=True)
        settings.update(options)
        dropped = sorted(k for k in settings if k not in DEFAULT_CFG_DICT)
        settings = {k: v for k, v in settings.items() if k in DEFAULT_CFG_DICT}
        seen = {}

        def add_callbacks(model, part):
            add_ultralytics_callbacks(model)
            state = {"i": 0}

            def on_train_start(trainer):
                no_network_patches("ultralytics")
                opt = trainer.optimizer
                seen.setdefault("optimizer", type(opt).__name__)
                seen.setdefault("param_groups", [g.get("param_group", f"pg{j}") for j, g in enumerate(opt.param_groups)])
                seen.setdefault("initial_lr", [g.get("initial_lr") for g in opt.param_groups])
                seen.setdefault("warmup_bias_lr_in_effect", float(trainer.args.warmup_bias_lr))
                seen.setdefault("save_dir", str(trainer.save_dir))
                seen.setdefault("parts", []).append({"part": part, "start_epoch": int(trainer.start_epoch), "nb": len(trainer.train_loader)})

            def on_train_epoch_start(trainer):
                state["i"] = 0

            def on_train_batch_end(trainer):
                if case in INTERRUPTS and part == "first" and (trainer.epoch, state["i"]) == INTERRUPTS[case]:
                    raise Interrupted(f"epoch {trainer.epoch} batch {state['i']}")
                state["i"] += 1

            def on_train_epoch_end(trainer):
                if case == "auto_long" and trainer.epoch + 1 >= STOP_AFTER_EPOCHS:
                    trainer.stop = True

            def on_fit_epoch_end(trainer):  # 8.0.x: self.stop = self.stopper(...) runs after on_train_epoch_end
                if case == "auto_long" and trainer.epoch + 1 >= STOP_AFTER_EPOCHS:
                    trainer.stop = True

            model.add_callback("on_train_start", on_train_start)
            model.add_callback("on_train_epoch_start", on_train_epoch_start)
            model.add_callback("on_train_batch_end", on_train_batch_end)
            model.add_callback("on_train_epoch_end", on_train_epoch_end)
            model.add_callback("on_fit_epoch_end", on_fit_epoch_end)

        t0 = time.time()
        model = YOLO("yolov8n.yaml")
        add_callbacks(model, "first")
        interrupted = None
        try:
            model.train(**settings)
        except Interrupted as e:
            interrupted = str(e)
        if case in INTERRUPTS:
            assert interrupted, "the resume case was not interrupted"
            flush_steps_logs()
            header, rows = read_steps(run / "steps.csv")
            rows_before = len(rows)
            model = YOLO(str(run / "weights" / "last.pt"))
            add_callbacks(model, "resumed")
            model.train(resume=True)
        keep_only(run, KEEP["ultralytics"])
        meta = {"package": "ultralytics", "version": version, **versions(), "env": os.environ.get("HALFTRACE_ENV_NAME"),
                "case": case, **DATASET, "model": "yolov8n.yaml", "options": settings, "options_dropped_not_in_release": dropped,
                "steps_csv": "halftrace_steps.add_ultralytics_callbacks(model) before model.train()"
                             + ("; added again on the YOLO(last.pt) model before train(resume=True)" if case in INTERRUPTS else ""),
                "optimizer_built": seen.get("optimizer"), "param_groups": seen.get("param_groups"),
                "initial_lr": seen.get("initial_lr"), "warmup_bias_lr_in_effect": seen.get("warmup_bias_lr_in_effect"),
                "parts": seen.get("parts"), "patches": patched, "seconds": round(time.time() - t0, 1),
                "recorded_by": "Tests/HalfTraceTests/Fixtures/record_releases.py"}
        if case in DESCRIPTIONS:
            meta["description"] = DESCRIPTIONS[case]
        if case in INTERRUPTS:
            at = INTERRUPTS[case]
            meta["interrupted"] = {"epoch": at[0], "i": at[1],
                                   "how": "Interrupted raised from an on_train_batch_end callback registered after add_ultralytics_callbacks "
                                          "(so the row of that batch is written); last.pt held epoch %d" % (at[0] - 1),
                                   "steps_rows_before_resume": rows_before,
                                   "resume": "YOLO('<run>/weights/last.pt').train(resume=True)"}
        if case == "auto_long":
            meta["stopped"] = {"after_epochs": STOP_AFTER_EPOCHS,
                               "how": "trainer.stop = True in on_train_epoch_end and again in on_fit_epoch_end callbacks of epoch "
                                      "index %d (8.0.x assigns self.stop = self.stopper(...) between the two, later releases "
                                      "use self.stop |= ...); the trainer validates, saves and then breaks" % (STOP_AFTER_EPOCHS - 1)}
        write_meta(run, meta)
        print(f"[record] {key}/{case} done in {time.time() - t0:.0f}s", flush=True)


# ----------------------------------------------------------------------------------------------
# YOLOv5


def frame_with(name):
    f = sys._getframe(2)
    while f is not None and name not in f.f_locals:
        f = f.f_back
    return f.f_locals if f is not None else None


def yolov5_train_with_stepslog(y5file: Path, key: str):
    """A copy of the release's train.py with StepsLog added (releases without on_train_start):
    the import, `steps_log = StepsLog(...)` after the scaler line, and `steps_log.iteration(...)`
    after `callbacks.run('on_train_batch_end', ...)`. Returns the module and the inserted lines."""
    lines = y5file.read_text().splitlines(keepends=True)
    out, inserted = [], []
    for n, line in enumerate(lines, 1):
        out.append(line)
        indent = line[: len(line) - len(line.lstrip())]
        if re.match(r"\s*scaler = (torch\.cuda\.)?amp\.GradScaler\(", line):
            text = f'{indent}steps_log = StepsLog(save_dir / "steps.csv", optimizer, scaler=scaler, package="yolov5")\n'
            out.append(text)
            inserted.append({"after_line": n, "text": text.strip()})
        elif "callbacks.run('on_train_batch_end'" in line:
            text = f"{indent}steps_log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)\n"
            out.append(text)
            inserted.append({"after_line": n, "text": text.strip()})
    assert len(inserted) == 2, inserted
    out.insert(0, "from halftrace_steps import StepsLog  # HalfTrace\n")
    copy = WORK / key / "train_with_stepslog.py"
    copy.parent.mkdir(parents=True, exist_ok=True)
    copy.write_text("".join(out))
    mod = types.ModuleType("yolov5.train_with_stepslog")
    mod.__file__ = str(y5file)  # ROOT stays the package directory
    sys.modules[mod.__name__] = mod
    exec(compile("".join(out), str(copy), "exec"), mod.__dict__)
    return mod, inserted


def yolov5_compat_patches():
    """YOLOv5 < 6.2 clamps long grid indices in place with float bounds, which torch >= 1.12 refuses
    ("result type Float can't be cast to the desired output type long int"). Recompile
    ComputeLoss.build_targets with int bounds (the fix YOLOv5 6.2 made); nothing else changes."""
    import inspect
    import textwrap
    from yolov5.utils import loss

    src = textwrap.dedent(inspect.getsource(loss.ComputeLoss.build_targets))
    old = "gj.clamp_(0, gain[3] - 1), gi.clamp_(0, gain[2] - 1)"
    if old not in src:
        return []
    ns = {}
    exec(compile(src.replace(old, "gj.clamp_(0, int(gain[3]) - 1), gi.clamp_(0, int(gain[2]) - 1)"), loss.__file__, "exec"), loss.__dict__, ns)
    loss.ComputeLoss.build_targets = ns["build_targets"]
    return ["utils/loss.py ComputeLoss.build_targets: " + old + " -> int(gain[3]) - 1, int(gain[2]) - 1 (torch >= 1.12 refuses float "
            "bounds for an in-place clamp of a long tensor; YOLOv5 6.2 made the same fix)"]


def yolov5_worker(key, version, cases):
    common_setup()
    import yolov5
    from yolov5 import train as y5
    from yolov5.utils.callbacks import Callbacks
    from halftrace_steps import add_yolov5_callbacks

    has_train_start = "callbacks.run('on_train_start')" in Path(y5.__file__).read_text()  # 6.1.2+ (the hook name exists earlier)
    inserted = None
    compat = yolov5_compat_patches()
    if not has_train_start:
        y5, inserted = yolov5_train_with_stepslog(Path(y5.__file__), key)
    patched = no_network_patches("yolov5")
    pkg = Path(yolov5.__file__).parent / "data" / "hyps"
    base = pkg / "hyp.scratch-low.yaml"
    if not base.exists():
        base = pkg / "hyp.scratch.yaml"
    return each_case(cases, lambda case: yolov5_case(key, version, case, y5, Callbacks, add_yolov5_callbacks, has_train_start, inserted, patched + compat, base))


def yolov5_case(key, version, case, y5, Callbacks, add_yolov5_callbacks, has_train_start, inserted, patched, base):
    if True:
        clear_caches()  # another release's label cache can crash a reader (yolov5 6.0.x catches only FileNotFoundError)
        run = OUT / key / case
        shutil.rmtree(run, ignore_errors=True)
        options, hyp_changes, optimizer, cosine = YOLOV5_CASES[case]
        text = base.read_text()
        for k, v in hyp_changes.items():
            text, n = re.subn(rf"^{k}:\s*[^\s#]+", f"{k}: {v}", text, flags=re.M)
            assert n == 1, k
        hyp = WORK / "hyp" / f"{key}-{case}.yaml"
        hyp.parent.mkdir(parents=True, exist_ok=True)
        hyp.write_text(text)

        def callbacks_for(part):
            if has_train_start:
                cb = Callbacks()
                add_yolov5_callbacks(cb)
            else:  # 6.0.x: the registry is a class attribute shared by every Callbacks()
                cb = Callbacks()
                for v in cb._callbacks.values():
                    v.clear()

            def interrupt(*args, **kwargs):
                f = frame_with("optimizer")
                if case in INTERRUPTS and part == "first" and (f["epoch"], f["i"]) == INTERRUPTS[case]:
                    raise Interrupted(f"epoch {f['epoch']} batch {f['i']}")

            cb.register_action("on_train_batch_end", callback=interrupt)
            return cb

        sys.argv = sys.argv[:1]
        opt = y5.parse_opt(True)
        settings = dict(data=DATA, cfg="yolov5n.yaml", weights="", hyp=str(hyp), imgsz=64, workers=0, device="cpu",
                        project=str(OUT / key), name=case, exist_ok=True, **options)
        if hasattr(opt, "optimizer"):
            settings["optimizer"] = optimizer
            settings["cos_lr"] = cosine
        else:  # 6.0.x: --adam, cosine by default, --linear-lr for linear
            settings["adam"] = optimizer == "Adam"
            settings["linear_lr"] = not cosine
        if hasattr(opt, "noplots"):
            settings["noplots"] = True
        if hasattr(opt, "seed"):
            settings["seed"] = 0
        for k, v in settings.items():
            assert hasattr(opt, k), k
            setattr(opt, k, v)
        t0 = time.time()
        interrupted = None
        try:
            y5.main(opt, callbacks_for("first"))
        except Interrupted as e:
            interrupted = str(e)
        if case in INTERRUPTS:
            assert interrupted, "the resume case was not interrupted"
            flush_steps_logs()
            header, rows = read_steps(run / "steps.csv")
            rows_before = len(rows)
            last = rows[-1]
            opt = y5.parse_opt(True)
            opt.resume = str(run / "weights" / "last.pt")
            y5.main(opt, callbacks_for("resumed"))
        keep_only(run, KEEP["yolov5"])
        if has_train_start:
            how = "halftrace_steps.add_yolov5_callbacks(Callbacks()) passed to train.main(opt, callbacks)"
        else:
            how = ("StepsLog inserted into a copy of this release's train.py (no on_train_start before 6.1.2): "
                   "'from halftrace_steps import StepsLog' at the top and the two lines of halftrace_steps.py's docstring")
        meta = {"package": "yolov5", "version": version, **versions(), "env": os.environ.get("HALFTRACE_ENV_NAME"),
                "case": case, **DATASET, "model": "yolov5n.yaml (weights '')",
                "options": {k: v for k, v in settings.items()},
                "hyp": {"base": f"yolov5/data/hyps/{base.name} of this release", "changes": hyp_changes},
                "optimizer": optimizer, "lr_schedule": "cosine (one_cycle)" if cosine else "linear",
                "steps_csv": how, "patches": patched, "seconds": round(time.time() - t0, 1),
                "recorded_by": "Tests/HalfTraceTests/Fixtures/record_releases.py"}
        if case in DESCRIPTIONS:
            meta["description"] = DESCRIPTIONS[case]
        if inserted:
            meta["inserted_lines"] = inserted
        if key in RELEASES and RELEASES[key][2]:
            meta["also_on_path"] = RELEASES[key][2]
        if case in INTERRUPTS:
            at = INTERRUPTS[case]
            meta["interrupted"] = {"epoch": at[0], "i": at[1],
                                   "how": "Interrupted raised from an on_train_batch_end callback registered after the steps callback; "
                                          "last.pt held epoch %d" % (at[0] - 1),
                                   "last_row_before_resume": {"epoch": int(last["epoch"]), "i": int(last["i"])},
                                   "steps_rows_before_resume": rows_before,
                                   "resume": "train.main(opt) with opt.resume = '<run>/weights/last.pt' (--resume)"}
        write_meta(run, meta)
        hyp.unlink()
        print(f"[record] {key}/{case} done in {time.time() - t0:.0f}s", flush=True)


# ----------------------------------------------------------------------------------------------
# plain PyTorch GradScaler loops


def toy_problem(rows, scaler_kwargs, bs):
    """The plain loops' problem, seeded with torch.manual_seed(0): `rows` random inputs and targets,
    Linear(8, 16)-Tanh-Linear(16, 1), SGD (lr 0.1, momentum 0.9, Nesterov) with the weights in group
    0 and the biases in group 1 (same lr and momentum), a CPU GradScaler, whether float16 autocast
    runs on this CPU ("float16" or None), and backward(i, ni, infs): batch i (of `bs` rows) forward
    under autocast, the scaled backward, and +inf in the first weight's gradient when ni is in infs."""
    import torch

    torch.manual_seed(0)
    x = torch.randn(rows, 8)
    y = (x[:, :1] * 0.5 - x[:, 1:2]).sin()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    weights = [p for n, p in model.named_parameters() if n.endswith("weight")]
    biases = [p for n, p in model.named_parameters() if n.endswith("bias")]
    optimizer = torch.optim.SGD(weights, lr=0.1, momentum=0.9, nesterov=True)
    optimizer.add_param_group({"params": biases})
    scaler = torch.amp.GradScaler("cpu", **scaler_kwargs)
    try:
        with torch.autocast("cpu", dtype=torch.float16):
            torch.nn.Linear(2, 2)(torch.ones(1, 2))
        autocast = "float16"
    except Exception:
        autocast = None

    def backward(i, ni, infs):
        xb, yb = x[i * bs:(i + 1) * bs], y[i * bs:(i + 1) * bs]
        with torch.autocast("cpu", dtype=torch.float16, enabled=autocast is not None):
            loss = torch.nn.functional.mse_loss(model(xb).float(), yb)
        scaler.scale(loss).backward()
        if ni in infs:
            with torch.no_grad():
                weights[0].grad.view(-1)[0] = float("inf")  # an overflow in this iteration's gradients

    return model, optimizer, scaler, autocast, backward


def scaler_loop(run: Path, case, epochs, scaler_kwargs, inf_iterations, sgdr):
    import torch
    from halftrace_steps import StepsLog

    nb, bs, accumulate = 10, 8, 2
    model, optimizer, scaler, autocast, backward = toy_problem(nb * bs, scaler_kwargs, bs)
    scheduler = None
    if sgdr:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=2, T_mult=2, eta_min=0.001)
    run.mkdir(parents=True, exist_ok=True)
    log = StepsLog(run / "steps.csv", optimizer, scaler=scaler)
    last_opt_step = -1
    import warnings

    warnings.filterwarnings("ignore", message="Detected call of `lr_scheduler.step\\(\\)`")
    for epoch in range(epochs):
        for i in range(nb):
            ni = i + nb * epoch
            if scheduler is not None:
                scheduler.step(epoch + i / nb)  # before this iteration's forward: it runs at this lr
            backward(i, ni, inf_iterations)
            if ni - last_opt_step >= accumulate:
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                last_opt_step = ni
            log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)
    defaults = torch.amp.GradScaler("cpu")
    settings = {"init_scale": defaults.get_scale(), "growth_factor": defaults.get_growth_factor(),
                "backoff_factor": defaults.get_backoff_factor(), "growth_interval": defaults.get_growth_interval()}
    settings.update(scaler_kwargs)
    meta = {"package": "torch", "version": torch.__version__, **versions(), "env": os.environ.get("HALFTRACE_ENV_NAME"), "case": case,
            "model": "Sequential(Linear(8,16), Tanh, Linear(16,1)) on torch.manual_seed(0) random data, mse loss, batch 8",
            "epochs": epochs, "optimizer": {"class": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                                            "param_groups": ["weights", "biases (added without options: same lr/momentum)"]},
            "schedule": ({"class": "CosineAnnealingWarmRestarts", "T_0": 2, "T_mult": 2, "eta_min": 0.001, "base_lr": 0.1,
                          "step": "scheduler.step(epoch + i / nb) at the start of every iteration, before its forward pass, "
                                  "so iteration (epoch, i) uses torch's lr for T = epoch + i/nb"} if sgdr else
                         {"class": None, "lr": "constant 0.1"}),
            "accumulate": accumulate, "step_rule": "step when ni - last_opt_step >= accumulate; last_opt_step = -1 at the start",
            "scaler": {"class": 'torch.amp.GradScaler("cpu")', **settings,
                       "update": "scaler.step(optimizer); scaler.update() only on step iterations"},
            "autocast": f'torch.autocast("cpu", dtype=torch.{autocast})' if autocast else "none (float32 forward)",
            "inf_iterations": sorted(inf_iterations),
            "inf_how": "after backward, the first weight's gradient element is set to +inf; on a non-step iteration it stays "
                       "in the accumulated gradient until the next step, whose scaler.step skips optimizer.step and whose "
                       "update backs off",
            "recorded_by": "Tests/HalfTraceTests/Fixtures/record_releases.py"}
    log.close()  # the logger buffers its rows: write them before write_meta counts them
    write_meta(run, meta)


# The loops recorded with --logger-cases: the model, data, optimizer and autocast of scaler_loop,
# torch.amp.GradScaler("cpu", init_scale=1024, growth_interval=3) and the current logger.
LOGGER_SCALER = dict(init_scale=1024.0, growth_interval=3)
LOGGER_NB, LOGGER_BS = 10, 8
EVERYK = dict(accumulate=3, epochs=3, infs={4, 19, 23})
RESUME = dict(accumulate=2, epochs=4, first_epochs=2, infs={7, 18, 20, 27})
LOGGER_MODEL = "Sequential(Linear(8,16), Tanh, Linear(16,1)) on torch.manual_seed(0) random data, mse loss, batch 8"
LOGGER_OPTIMIZER = {"class": "SGD", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                    "param_groups": ["weights", "biases (added without options: same lr/momentum)"]}
LOGGER_INF_HOW = ("after backward, the first weight's gradient element is set to +inf; it stays in the accumulated "
                  "gradient until the next scaler.step (which skips optimizer.step; the update backs off) or until "
                  "optimizer.zero_grad() drops it")


def logger_problem():
    """scaler_loop's model, data and optimizer (torch.manual_seed(0)), its float16 autocast when the
    CPU has it, and the GradScaler of the logger cases."""
    return toy_problem(LOGGER_NB * LOGGER_BS, LOGGER_SCALER, LOGGER_BS)


def logger_meta(case, autocast, **fields):
    import torch

    defaults = torch.amp.GradScaler("cpu")
    settings = {"init_scale": defaults.get_scale(), "growth_factor": defaults.get_growth_factor(),
                "backoff_factor": defaults.get_backoff_factor(), "growth_interval": defaults.get_growth_interval()}
    settings.update(LOGGER_SCALER)
    meta = {"package": "torch", "version": torch.__version__, **versions(), "env": os.environ.get("HALFTRACE_ENV_NAME"),
            "env_python": sys.executable, "case": case, "model": LOGGER_MODEL, "optimizer": LOGGER_OPTIMIZER,
            "schedule": {"class": None, "lr": "constant 0.1"}, "nb": LOGGER_NB,
            "scaler": {"class": 'torch.amp.GradScaler("cpu")', **settings,
                       "update": "scaler.step(optimizer); scaler.update(); optimizer.zero_grad() only on step iterations"},
            "autocast": f'torch.autocast("cpu", dtype=torch.{autocast})' if autocast else "none (float32 forward)",
            "steps_csv": "halftrace_steps.StepsLog(run / 'steps.csv', optimizer, scaler=scaler), log.iteration(...) after "
                         "every iteration (the logger writing the '# scaler:' and '# resumed at ni=' comment lines)"}
    meta.update(fields)
    meta["inf_how"] = LOGGER_INF_HOW
    meta["recorded_by"] = "Tests/HalfTraceTests/Fixtures/record_releases.py --logger-cases"
    return meta


def logger_loop(run: Path, case, last_window):
    """torch_everyk_stepped / torch_everyk_dropped: nb 10, accumulate 3, 3 epochs, the common loop
    `if (i + 1) % accumulate == 0 or i + 1 == len(loader)` (stepped) or without the `or` (dropped:
    the epoch's last partial window, i = 9, is never stepped); zero_grad at every epoch start."""
    from halftrace_steps import StepsLog

    accumulate, epochs, infs = EVERYK["accumulate"], EVERYK["epochs"], EVERYK["infs"]
    model, optimizer, scaler, autocast, backward = logger_problem()
    run.mkdir(parents=True, exist_ok=True)
    log = StepsLog(run / "steps.csv", optimizer, scaler=scaler)
    for epoch in range(epochs):
        optimizer.zero_grad()
        for i in range(LOGGER_NB):
            ni = i + LOGGER_NB * epoch
            backward(i, ni, infs)
            if (i + 1) % accumulate == 0 or (last_window == "stepped" and i + 1 == LOGGER_NB):
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
            log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)
    log.close()
    condition = "(i + 1) % accumulate == 0" + (" or i + 1 == len(loader)" if last_window == "stepped" else "")
    write_meta(run, logger_meta(
        case, autocast, epochs=epochs, accumulate=accumulate, step_rule_id="every-k", last_window=last_window,
        step_rule=f"step when {condition} (i the batch index in the epoch, len(loader) = nb = {LOGGER_NB}); "
                  "optimizer.zero_grad() at every epoch start and after every step"
                  + ("" if last_window == "stepped" else "; the gradients of the epoch's last partial window (i = 9) are dropped"),
        inf_iterations=sorted(infs)))


def resume_marker_part(run: Path, part):
    """One process of torch_resume_marker: 'first' trains epochs 0-1 and saves checkpoint.pt at the
    end of epoch 1 (the log writes its rows at exit); 'second' loads it and trains epochs 2-3,
    appending to the same steps.csv."""
    import torch
    from halftrace_steps import StepsLog

    accumulate, infs = RESUME["accumulate"], RESUME["infs"]
    model, optimizer, scaler, autocast, backward = logger_problem()
    checkpoint = run / "checkpoint.pt"
    if part == "first":
        start, stop = 0, RESUME["first_epochs"]
    else:
        state = torch.load(checkpoint, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scaler.load_state_dict(state["scaler"])
        start, stop = state["epoch"] + 1, RESUME["epochs"]
    log = StepsLog(run / "steps.csv", optimizer, scaler=scaler)
    last_opt_step = -1  # at the start and at a resume
    for epoch in range(start, stop):
        for i in range(LOGGER_NB):
            ni = i + LOGGER_NB * epoch
            backward(i, ni, infs)
            if ni - last_opt_step >= accumulate:
                scaler.step(optimizer)
                scaler.update()
                optimizer.zero_grad()
                last_opt_step = ni
            log.iteration(ni=ni, epoch=epoch, i=i, accumulate=accumulate)
    if part == "first":
        torch.save({"epoch": stop - 1, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict()}, checkpoint)
    else:
        log.close()


def resume_marker(run: Path, case):
    """torch_resume_marker: two processes (resume_marker_part), the second appending to the first's steps.csv."""
    import torch

    run.mkdir(parents=True, exist_ok=True)
    for part in ("first", "second"):
        subprocess.run([sys.executable, str(Path(__file__).resolve()), "--resume-part", str(run), part], check=True)
        if part == "first":
            saved = torch.load(run / "checkpoint.pt", weights_only=True)["scaler"]
            header, rows = read_steps(run / "steps.csv")
            rows_before = len(rows)
    (run / "checkpoint.pt").unlink()
    _, _, _, autocast, _ = logger_problem()
    first = RESUME["first_epochs"] * LOGGER_NB
    write_meta(run, logger_meta(
        case, autocast, epochs=RESUME["epochs"], accumulate=RESUME["accumulate"], step_rule_id="yolov5",
        step_rule="step when ni - last_opt_step >= accumulate; last_opt_step = -1 at the start and at the resume",
        inf_iterations=sorted(RESUME["infs"]),
        parts=[{"part": "first", "process": 1, "epochs": list(range(RESUME["first_epochs"])), "ni": [0, first - 1],
                "ends": "saves checkpoint.pt (epoch, model, optimizer and scaler state_dicts) at the end of epoch %d and "
                        "exits; the log writes its rows at exit" % (RESUME["first_epochs"] - 1)},
               {"part": "second", "process": 2, "epochs": list(range(RESUME["first_epochs"], RESUME["epochs"])),
                "ni": [first, RESUME["epochs"] * LOGGER_NB - 1],
                "starts": "loads checkpoint.pt (model, optimizer, scaler), last_opt_step = -1, a new StepsLog on the "
                          "same steps.csv: it appends '# resumed at ni=%d' and its rows (ni does not go back)" % first}],
        resumed_at_ni=first, steps_rows_before_resume=rows_before,
        checkpoint_scaler_state={k: (float(v) if isinstance(v, float) else v) for k, v in saved.items()},
        checkpoint_note="the scaler state is saved and loaded; its growth tracker is %d at the checkpoint, so a verifier "
                        "that restarts the scaler (tracker 0) at the resume agrees with it" % int(saved["_growth_tracker"])))


def torch_worker(key, version, cases):
    import torch

    tv = torch.__version__.split("+")[0]
    for case in cases:
        run = OUT / f"torch-{tv}" / case
        shutil.rmtree(run, ignore_errors=True)
        if case == "torch_amp_sgdr":
            scaler_loop(run, case, 10, dict(init_scale=2.0 ** 10, growth_factor=2.0, backoff_factor=0.5, growth_interval=3),
                        {7, 8, 21, 40, 41, 42, 70}, sgdr=True)
        elif case == "torch_amp_default":
            scaler_loop(run, case, 3, {}, {13}, sgdr=False)
        elif case in ("torch_everyk_stepped", "torch_everyk_dropped"):
            logger_loop(run, case, "stepped" if case.endswith("stepped") else "dropped")
        elif case == "torch_resume_marker":
            resume_marker(run, case)
        print(f"[record] torch-{tv}/{case} done", flush=True)


# ----------------------------------------------------------------------------------------------


def local_fonts():
    """Both packages draw labels with Arial.ttf from their config directory and download it when it
    is missing (YOLOv5 6.0 even at import): give them matplotlib's DejaVuSans under those names."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    for d in {Path(os.environ["YOLO_CONFIG_DIR"]), Path(os.environ["YOLOV5_CONFIG_DIR"])}:
        for sub in (d, d / "Ultralytics"):
            sub.mkdir(parents=True, exist_ok=True)
            for name in ("Arial.ttf", "Arial.Unicode.ttf"):
                if not (sub / name).exists():
                    shutil.copy(ttf, sub / name)


def worker(key, cases):
    if not key.startswith("torch"):  # the plain PyTorch loops draw nothing (and their venv may lack matplotlib)
        local_fonts()
    os.chdir(REAL)
    sys.path.insert(0, str(TOOLS))
    clear_caches()
    pkg, _, version = key.partition("-")
    try:
        {"ultralytics": ultralytics_worker, "yolov5": yolov5_worker, "torch": torch_worker}[pkg](key, version, cases)
    finally:
        clear_caches()


def ensure_unpacked(env_python, key):
    d = PKGSRC / key
    if not d.exists():
        pkg, _, version = key.partition("-")
        subprocess.run([env_python, "-m", "pip", "install", "--no-deps", "--target", str(d), f"{pkg}=={version}"], check=True)
    return d


def main(names):
    wanted = {}
    for name in names or list(RELEASES):
        key, _, case = name.partition("/")
        assert key in RELEASES, f"unknown release {key}: one of {', '.join(RELEASES)}"
        wanted.setdefault(key, [])
        if case:
            assert case in RELEASES[key][1] + (TORCH_LOGGER_CASES if key == "torch" else []), f"{key} has no case {case}"
            wanted[key].append(case)
    (WORK / "logs").mkdir(parents=True, exist_ok=True)
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode != 0:
        unshare = None
    failed = []
    for key, cases in wanted.items():
        env_name, all_cases, extra = RELEASES[key]
        cases = cases or all_cases
        python = ENVS[env_name]
        paths = [] if key == "torch" else [str(ensure_unpacked(python, key))] + [str(ensure_unpacked(python, e)) for e in extra]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths + [str(TOOLS)]), OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1", YOLO_OFFLINE="1", YOLO_CONFIG_DIR=str(WORK / "config"), YOLOV5_CONFIG_DIR=str(WORK / "config"),
                   MPLBACKEND="Agg", HALFTRACE_ENV_NAME=env_name, PYTHONUNBUFFERED="1")
        cmd = ([unshare, "-n"] if unshare else []) + [python, str(Path(__file__).resolve()), "--worker", key] + cases
        log = WORK / "logs" / f"{key}.log"
        t0 = time.time()
        with open(log, "w") as f:
            rc = subprocess.run(cmd, cwd=REAL, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
        print(f"{key}: {'ok' if rc == 0 else 'FAILED (rc %d)' % rc} in {time.time() - t0:.0f}s, log {log}", flush=True)
        if rc:
            failed.append(key)
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--worker":
        try:
            worker(sys.argv[2], sys.argv[3:])
        except Exception:
            traceback.print_exc()
            sys.exit(1)
    elif len(sys.argv) == 4 and sys.argv[1] == "--resume-part":  # one process of torch_resume_marker
        resume_marker_part(Path(sys.argv[2]), sys.argv[3])
    elif sys.argv[1:] == ["--logger-cases"]:
        sys.exit(main([f"torch/{case}" for case in TORCH_LOGGER_CASES]))
    else:
        sys.exit(main(sys.argv[1:]))
