"""PyTorch CPU eager timings of HalfTrace's detector, in YOLOv5 7.0's own code, for same-run ratios with
`halftrace bench --model detector`.

A benchmark baseline, never a dependency: run it from the virtual environment of
Tools/yolov5_detector_baseline.py (torch CPU, torchvision, yolov5==7.0.14), outside the repository:

    halftrace data --out /tmp/shapes-data
    /work/venvs/yolov5/bin/python Tools/torch_detector_bench.py --data /tmp/shapes-data
        [--precision fp32,amp,amp-bf16,bf16,fp16] [--threads 2] [--seconds 3] [--repeats 2] [--json]

The network: yolov5n.yaml in HalfTrace's layout (yolov5_detector_baseline.py --no-p5: no P5/32 level, SPPF on
P4/16, Detect on P3/8 and P4/16; 396,176 parameters with nc 3), YOLOv5's default anchors (HalfTrace's bench uses
them too, without AutoAnchor), built by YOLOv5's `DetectionModel`; the loss is YOLOv5's `ComputeLoss` with the
hyp gains scaled as train.py scales them (box * 3/nl, cls * nc/80 * 3/nl, obj * (imgsz/640)^2 * 3/nl), the
optimizer YOLOv5's `smart_optimizer` (SGD, Nesterov momentum 0.937, lr 0.01, weight decay 5e-4 on the conv
weights only), the batch 16 images of --imgsz px.

The batch: HalfTrace's bench trains on one mosaic-augmented batch of its synthetic shapes (about four images'
shapes per image). Here each of the 16 images is a 2 x 2 mosaic of four of the dataset's training images, each
scaled to half size, with their labels moved into the quadrant: the same kind of image with about the same
number of targets (printed), not the same pixels. The content barely changes a step's time; the target count
changes build_targets' share a little.

A step, as HalfTrace's `Benchmark.DetectorStepHarness`: zero_grad(set_to_none), forward and ComputeLoss (under
autocast for amp and amp-bf16), backward (through GradScaler for amp), optimizer step (scaler.step/update for
amp); no gradient clipping on either side. Precisions:
  fp32      float32 everywhere
  amp       autocast(cpu, float16) + GradScaler, float32 weights
  amp-bf16  autocast(cpu, bfloat16), float32 weights, no scaler
  bf16      model and batch in bfloat16 (weights, activations and gradients stored in bfloat16), no scaler
  fp16      model and batch in float16, no scaler (GradScaler refuses float16 weights)
A precision PyTorch cannot run on this CPU is reported as unsupported with its error.

Timing: torch.set_num_threads(--threads) (and OMP_NUM_THREADS), 10 warm-up steps, then --repeats windows of
--seconds each; steps/s of the best window. Alternate it with `halftrace bench --model detector` on an otherwise
idle machine and compare the best of each.
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True, help="a YOLO dataset folder (halftrace data --out DIR)")
    p.add_argument("--precision", default="fp32,amp,amp-bf16,bf16,fp16")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--imgsz", type=int, default=64)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    modes = args.precision.split(",")
    for m in modes:
        if m not in ("fp32", "amp", "amp-bf16", "bf16", "fp16"):
            p.error(f"--precision: unknown precision '{m}' (fp32, amp, amp-bf16, bf16, fp16)")
    if args.threads < 1 or args.seconds <= 0 or args.repeats < 1 or args.batch < 1 or args.imgsz % 32:
        p.error("--threads, --seconds, --repeats and --batch must be positive and --imgsz a multiple of 32")
    args.modes = modes
    return args


ARGS = parse_args()
os.environ["OMP_NUM_THREADS"] = str(ARGS.threads)
sys.path.insert(0, str(Path(__file__).resolve().parent))
_argv, sys.argv = sys.argv, [sys.argv[0], "--data", ARGS.data]  # the baseline reads its own flags on import
import yolov5_detector_baseline as baseline  # noqa: E402  (offline guards, torchvision on CPU torch, the P3/P4 YAML)
sys.argv = _argv
import numpy as np  # noqa: E402
import torch  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402
from yolov5.models.yolo import DetectionModel  # noqa: E402
from yolov5.utils.loss import ComputeLoss  # noqa: E402
from yolov5.utils.torch_utils import smart_optimizer  # noqa: E402
import yolov5  # noqa: E402


def load_batch(data_dir, batch, imgsz):
    """`batch` 2 x 2 mosaics of the training images (each at half size) and their labels, as YOLOv5's
    collate_fn gives them: images float in [0, 1] (N, 3, H, W), targets (image, class, x, y, w, h) normalised."""
    root = Path(data_dir)
    images = sorted((root / "images" / "train").iterdir())
    if len(images) < 4 * batch:
        sys.exit(f"error: {root}/images/train holds {len(images)} images; {4 * batch} are needed")
    half = imgsz // 2
    pixels = np.zeros((batch, 3, imgsz, imgsz), dtype=np.float32)
    targets = []
    for b in range(batch):
        for q in range(4):
            path = images[4 * b + q]
            img = Image.open(path).convert("RGB").resize((half, half), Image.BILINEAR)
            oy, ox = divmod(q, 2)
            pixels[b, :, oy * half:(oy + 1) * half, ox * half:(ox + 1) * half] = np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 255
            label = root / "labels" / "train" / (path.stem + ".txt")
            for line in label.read_text().splitlines():
                if line.strip():
                    c, x, y, w, h = map(float, line.split())
                    targets.append([b, c, (x + ox) / 2, (y + oy) / 2, w / 2, h / 2])
    return torch.from_numpy(pixels), torch.tensor(targets, dtype=torch.float32)


def build(nc, imgsz):
    with tempfile.TemporaryDirectory() as tmp:
        cfg, _ = baseline.model_yaml("yolov5n.yaml", None, True, Path(tmp))
        model = DetectionModel(str(cfg), ch=3, nc=nc)
    hyp = yaml.safe_load((Path(yolov5.__file__).parent / "data" / "hyps" / "hyp.scratch-low.yaml").read_text())
    nl = model.model[-1].nl
    hyp["box"] *= 3 / nl
    hyp["cls"] *= nc / 80 * 3 / nl
    hyp["obj"] *= (imgsz / 640) ** 2 * 3 / nl
    model.nc, model.hyp = nc, hyp
    return model, hyp


def bench(mode, images, targets, nc):
    torch.manual_seed(0)
    model, hyp = build(nc, ARGS.imgsz)
    x = images
    if mode == "bf16":
        model, x = model.bfloat16(), images.bfloat16()
    elif mode == "fp16":
        model, x = model.half(), images.half()
    model.train()
    loss_fn = ComputeLoss(model)
    optimizer = smart_optimizer(model, "SGD", hyp["lr0"], hyp["momentum"], hyp["weight_decay"])
    scaler = torch.amp.GradScaler("cpu", enabled=(mode == "amp"))
    autocast = {"amp": torch.float16, "amp-bf16": torch.bfloat16}.get(mode)

    def step():
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=autocast or torch.float32, enabled=autocast is not None):
            loss, _ = loss_fn(model(x), targets)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    for _ in range(10):
        step()
    rates = []
    for _ in range(ARGS.repeats):
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < ARGS.seconds:
            step()
            n += 1
        rates.append(n / (time.perf_counter() - t0))
    return {"steps_per_second": max(rates), "windows": rates,
            "parameters": sum(p.numel() for p in model.parameters())}


def main():
    torch.set_num_threads(ARGS.threads)
    data = yaml.safe_load((Path(ARGS.data) / "data.yaml").read_text())
    nc = int(data["nc"])
    images, targets = load_batch(ARGS.data, ARGS.batch, ARGS.imgsz)
    report = {"torch": torch.__version__, "yolov5": getattr(yolov5, "__version__", "?"), "threads": torch.get_num_threads(),
              "batch": ARGS.batch, "imgsz": ARGS.imgsz, "targets": len(targets), "results": {}}
    for mode in ARGS.modes:
        try:
            report["results"][mode] = bench(mode, images, targets, nc)
        except (RuntimeError, NotImplementedError) as e:
            report["results"][mode] = {"unsupported": str(e).splitlines()[0][:200]}
    if ARGS.json:
        print(json.dumps(report))
        return
    print(f"PyTorch {report['torch']} eager CPU, YOLOv5 {report['yolov5']}, {report['threads']} threads, "
          f"batch {ARGS.batch} x {ARGS.imgsz} px, {report['targets']} targets")
    for mode, r in report["results"].items():
        if "unsupported" in r:
            print(f"  {mode:9s} unsupported: {r['unsupported']}")
        else:
            print(f"  {mode:9s} {r['steps_per_second']:8.2f} steps/s  ({r['parameters']:,} parameters; windows "
                  + ", ".join(f"{w:.2f}" for w in r["windows"]) + ")")


if __name__ == "__main__":
    main()
