"""Records fixtures from the real YOLOv5 and Ultralytics packages (never dependencies of HalfTrace).

Run from a virtual environment outside the repository:

    python3 -m venv /tmp/realenv
    /tmp/realenv/bin/pip install torch==2.15.0 yolov5==7.0.14 ultralytics "setuptools<81"
    /tmp/realenv/bin/python Tests/HalfTraceTests/Fixtures/record_real.py

It writes Tests/HalfTraceTests/Fixtures/real/:
- dataset/: a synthetic detection set this script draws (96 + 16 images of 64 px, 3 classes);
- yolov5_*/ and ultralytics_*/: real CPU training runs (no downloaded weights, no plots). Each holds
  the run directory's own files as the package wrote them (opt.yaml, hyp.yaml, results.csv, or
  args.yaml, results.csv; weights and logs removed) and iterations.csv: per iteration, every
  parameter group's lr and momentum in effect for the batch and whether optimizer.step() ran
  (recorded by a step pre-hook on the optimizer), plus meta.json (versions, nb, the command);
- yolov5_autoanchor.json: YOLOv5's own utils/autoanchor.py on HalfTrace's bundled label set:
  the label sizes its LoadImagesAndLabels produces, its metric for the default anchors, and
  kmean_anchors' result for five seeds.
"""
import json, os, random, shutil, sys, types
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # several times faster on two busy cores
os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"  # torch >= 2.6: let the runs reload their own last.pt
os.environ["YOLO_OFFLINE"] = "1"

import numpy as np
if not hasattr(np, "trapz"):
    np.trapz = np.trapezoid  # NumPy 2 removed trapz; YOLOv5's val uses it
import torch
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
OUT = HERE / "real"
BOXES = HERE.parent.parent.parent / "Sources/HalfTraceAnchors/Resources/boxes"


def make_dataset(root: Path, train=96, val=16, size=64, seed=0):
    """Coloured rectangles on grey, 1-3 per image, YOLO labels (class cx cy w h)."""
    rng = random.Random(seed)
    colours = [(220, 40, 40), (40, 180, 40), (40, 60, 220)]
    for split, count in [("train", train), ("val", val)]:
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for k in range(count):
            im = Image.new("RGB", (size, size), (128, 128, 128))
            d = ImageDraw.Draw(im)
            lines = []
            for _ in range(rng.randint(1, 3)):
                c = rng.randrange(3)
                w, h = rng.randint(8, 40), rng.randint(8, 40)
                x0, y0 = rng.randint(0, size - w), rng.randint(0, size - h)
                d.rectangle([x0, y0, x0 + w - 1, y0 + h - 1], fill=colours[c])
                lines.append(f"{c} {(x0 + w / 2) / size:.6f} {(y0 + h / 2) / size:.6f} {w / size:.6f} {h / size:.6f}")
            im.save(root / "images" / split / f"{split}{k:03d}.png")
            (root / "labels" / split / f"{split}{k:03d}.txt").write_text("\n".join(lines) + "\n")
    # Both packages resolve a relative `path` against their own install directories: the real
    # runs read an absolute one (verify falls back to the file's own directory elsewhere).
    (root / "data.yaml").write_text(f"path: {root.resolve()}\ntrain: images/train\nval: images/val\nnc: 3\nnames: [red, green, blue]\n")


class Recorder:
    """Hooks an optimizer's step to know whether it ran, and records the groups after each batch."""

    def __init__(self, nb):
        self.nb, self.rows, self.stepped, self.optimizer = nb, [], False, None

    def wrap(self, optimizer):
        self.optimizer = optimizer

        def mark(opt, args, kwargs):
            self.stepped = True

        optimizer.register_step_pre_hook(mark)  # runs inside optimizer.step(), after the scaler decided to step
        return optimizer

    def batch_end(self, ni):
        groups = self.optimizer.param_groups
        self.rows.append([ni, ni // self.nb] + [g["lr"] for g in groups] + [g.get("momentum", g.get("betas", (float("nan"),))[0]) for g in groups]
                         + [int(self.stepped)])
        self.stepped = False

    def write(self, path: Path, names):
        header = ["iteration", "epoch"] + [f"lr_{n}" for n in names] + [f"momentum_{n}" for n in names] + ["optimizer_step"]
        with open(path, "w") as f:
            f.write(",".join(header) + "\n")
            for r in self.rows:
                f.write(",".join(str(v) if isinstance(v, int) else float(v).hex() for v in r) + "\n")


def keep_only(run: Path, names):
    for p in list(run.iterdir()):
        if p.name not in names:
            shutil.rmtree(p) if p.is_dir() else p.unlink()


def record_yolov5(name, data, nb, **options):
    from yolov5 import train as y5
    from yolov5.utils.callbacks import Callbacks
    from yolov5.utils import general, plots
    for module in (y5, general, plots):  # no network: fonts and requirements are not fetched
        module.check_requirements = lambda *a, **k: None
        module.check_font = lambda *a, **k: None
    recorder = Recorder(nb)
    original = y5.smart_optimizer
    y5.smart_optimizer = lambda *a, **k: recorder.wrap(original(*a, **k))
    callbacks = Callbacks()
    callbacks.register_action("on_train_batch_end", callback=lambda model, ni, *rest: recorder.batch_end(ni))
    opt = y5.parse_opt(True)
    settings = dict(data=str(data), cfg="yolov5n.yaml", weights="", imgsz=64, noplots=True, workers=0, device="cpu",
                    project=str(OUT), name=name, exist_ok=True, seed=0)
    settings.update(options)
    for k, v in settings.items():
        setattr(opt, k, v)
    y5.main(opt, callbacks=callbacks)
    y5.smart_optimizer = original
    run = OUT / name
    recorder.write(run / "iterations.csv", ["g0", "g1", "g2"])
    keep_only(run, {"opt.yaml", "hyp.yaml", "results.csv", "iterations.csv"})
    import yolov5
    meta = {"package": "yolov5", "version": yolov5.__version__, "torch": torch.__version__, "nb": nb, "options": {k: str(v) for k, v in options.items()}}
    (run / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def record_ultralytics(name, data, nb, **options):
    import ultralytics
    from ultralytics import YOLO
    recorder = Recorder(nb)
    model = YOLO("yolov8n.yaml")

    def on_train_start(trainer):
        recorder.wrap(trainer.optimizer)
        recorder.groups = [g.get("param_group", str(i)) for i, g in enumerate(trainer.optimizer.param_groups)]

    def on_train_batch_end(trainer):
        recorder.batch_end(len(recorder.rows))

    model.add_callback("on_train_start", on_train_start)
    model.add_callback("on_train_batch_end", on_train_batch_end)
    settings = dict(data=str(data), imgsz=64, device="cpu", workers=0, amp=False, plots=False, pretrained=False, val=False,
                    project=str(OUT), name=name, exist_ok=True, seed=0, deterministic=True, verbose=False)
    settings.update(options)
    model.train(**settings)
    run = OUT / name
    recorder.write(run / "iterations.csv", recorder.groups)
    keep_only(run, {"args.yaml", "results.csv", "iterations.csv"})
    meta = {"package": "ultralytics", "version": ultralytics.__version__, "torch": torch.__version__, "nb": nb,
            "groups": recorder.groups, "options": {k: str(v) for k, v in options.items()}}
    (run / "meta.json").write_text(json.dumps(meta, indent=1) + "\n")


def record_autoanchor():
    """YOLOv5's own autoanchor functions on HalfTrace's bundled label set (blank images of the
    listed sizes, so that LoadImagesAndLabels reads shapes and labels as it does for real data)."""
    from yolov5.utils import autoanchor
    from yolov5.utils.dataloaders import LoadImagesAndLabels
    work = Path("/tmp/halftrace-boxes")
    shutil.rmtree(work, ignore_errors=True)
    (work / "images").mkdir(parents=True)
    (work / "labels").mkdir(parents=True)
    sizes = {}
    for line in (BOXES / "images.csv").read_text().splitlines()[1:]:
        if line.strip():
            name, w, h = line.split(",")
            sizes[name] = (int(float(w)), int(float(h)))
            Image.new("RGB", sizes[name], (0, 0, 0)).save(work / "images" / f"{name}.png")
    for f in (BOXES / "labels").glob("*.txt"):
        shutil.copy(f, work / "labels" / f.name)
    dataset = LoadImagesAndLabels(str(work / "images"), img_size=640, augment=True, rect=True)
    # YOLOv5's nested metric(k, wh), taken from kmean_anchors' own code
    code = next(c for c in autoanchor.kmean_anchors.__code__.co_consts if isinstance(c, types.CodeType) and c.co_name == "metric")
    metric = types.FunctionType(code, autoanchor.__dict__)
    shapes = 640 * dataset.shapes / dataset.shapes.max(1, keepdims=True)
    wh0 = np.concatenate([l[:, 3:5] * s for s, l in zip(shapes, dataset.labels)])
    default = np.array([[10, 13], [16, 30], [33, 23], [30, 61], [62, 45], [59, 119], [116, 90], [156, 198], [373, 326]], dtype=np.float32)
    x, best = metric(torch.tensor(default), torch.tensor(wh0, dtype=torch.float32))
    thr = 1 / 4.0
    names = [Path(f).stem for f in dataset.im_files]
    per_image = [{"image": n, "wh": [[float(a).hex(), float(b).hex()] for a, b in (l[:, 3:5] * s)]} for n, s, l in zip(names, shapes, dataset.labels)]
    searches = []
    for seed in range(5):
        np.random.seed(seed)
        random.seed(seed)
        k = autoanchor.kmean_anchors(dataset, n=9, img_size=640, thr=4.0, gen=1000, verbose=False)
        kx, kbest = metric(torch.tensor(k), torch.tensor(wh0[(wh0 >= 2.0).any(1)], dtype=torch.float32))
        fitness = float((kbest * (kbest > thr).float()).mean())
        searches.append({"seed": seed, "anchors": [[float(a).hex(), float(b).hex()] for a, b in k], "fitness": float(fitness).hex()})
    # Random label sets (ratios at the 1/thr boundary included) through YOLOv5's metric, and
    # kmean_anchors itself on very elongated boxes (where the default anchors fit poorly).
    def summary(wh, k, thr):
        x, best = metric(torch.tensor(k), torch.tensor(wh))
        t = 1 / thr
        return [float((best > t).float().mean()), float((x > t).float().mean() * len(k)), float((best * (best > t).float()).mean())]
    rs = np.random.RandomState(11)
    cases = []
    for c in range(6):
        m = int(rs.randint(50, 400))
        wh = (np.exp(rs.uniform(0, 6, size=(m, 2))) * rs.uniform(0.5, 2, size=(m, 1))).astype(np.float32)
        if c == 5:
            wh[:20] = np.array([4, 1], np.float32) * wh[:20, :1]  # ratios at the 1/thr boundary
        k = np.exp(rs.uniform(1, 6, size=(9, 2))).astype(np.float32)
        anchor_t = float(rs.choice([2.0, 3.0, 4.0, 5.5]))
        cases.append({"name": f"random {c}", "thr": anchor_t, "wh": [float(v).hex() for v in wh.ravel()],
                      "anchors": [float(v).hex() for v in k.ravel()], "bpr_aat_fitness": [float(v).hex() for v in summary(wh, k, anchor_t)]})
    rs = np.random.RandomState(3)
    long = np.exp(rs.uniform(np.log(40), np.log(600), size=2000))
    aspect = np.exp(rs.uniform(np.log(6), np.log(14), size=2000))
    tall = rs.rand(2000) < 0.6
    wh_long = np.stack([np.where(tall, long / aspect, long), np.where(tall, long, long / aspect)], 1).astype(np.float32)
    square = types.SimpleNamespace(shapes=np.full((1, 2), 640.0),  # one 640 x 640 image holding every box
                                   labels=[np.concatenate([np.zeros((2000, 3), np.float32), wh_long / 640], 1)])
    elongated = []
    for seed in range(5):
        np.random.seed(seed)
        random.seed(seed)
        k = autoanchor.kmean_anchors(square, n=9, img_size=640, thr=4.0, gen=1000, verbose=False)
        elongated.append({"seed": seed, "anchors": [float(v).hex() for v in k.ravel()], "fitness": float(summary(wh_long, k, 4.0)[2]).hex()})
    out = {"source": "yolov5 %s utils/autoanchor.py (kmean_anchors and its metric, LoadImagesAndLabels)" % __import__("yolov5").__version__,
           "metric_cases": cases, "elongated_wh": [float(v).hex() for v in wh_long.ravel()], "elongated_searches": elongated,
           "labels": per_image, "default_anchors_bpr": float((best > thr).float().mean()).hex(),
           "default_anchors_aat": float((x > thr).float().mean() * 9).hex(),
           "default_anchors_best": [float(v).hex() for v in best], "searches": searches}
    (OUT / "yolov5_autoanchor.json").write_text(json.dumps(out, indent=0) + "\n")
    shutil.rmtree(work, ignore_errors=True)


def record_torch_sgdr_trace():
    """PyTorch's own CosineAnnealingWarmRestarts(T_0=1, T_mult=3) stepped with step(epoch) over
    epochs 0..130 (its floating-point cycle index misplaces the restart at 121): epoch,lr."""
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=1, T_mult=3, eta_min=0.0)
    lines = [f"# torch {torch.__version__} CosineAnnealingWarmRestarts(T_0=1, T_mult=3, eta_min=0), lr 0.1, step(epoch)", "epoch,lr"]
    for e in range(131):
        s.step(e)
        lines.append(f"{e},{opt.param_groups[0]['lr']!r}")
    (OUT / "torch_sgdr_trace.csv").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    OUT.mkdir(exist_ok=True)
    data = OUT / "dataset"
    if not (data / "data.yaml").exists():
        make_dataset(data)
    only = set(sys.argv[1:])
    def wanted(n): return not only or n in only
    os.chdir(OUT)  # runs name the dataset as given: dataset/data.yaml, relative to this directory
    rel = "dataset/data.yaml"
    if wanted("yolov5_b16_linear"):
        record_yolov5("yolov5_b16_linear", rel, nb=6, epochs=20, batch_size=16)
    if wanted("yolov5_onecycle_warmup"):
        hyp = OUT / "hyp_warmup.yaml"
        base = (Path(__import__("yolov5").__file__).parent / "data/hyps/hyp.scratch-low.yaml").read_text()
        hyp.write_text(base.replace("warmup_momentum: 0.8", "warmup_momentum: 0.5").replace("warmup_bias_lr: 0.1", "warmup_bias_lr: 0.05")
                       .replace("warmup_epochs: 3.0", "warmup_epochs: 2.0").replace("lrf: 0.01", "lrf: 0.1"))
        record_yolov5("yolov5_onecycle_warmup", rel, nb=6, epochs=20, batch_size=16, cos_lr=True, hyp=str(hyp))
        hyp.unlink()
    if wanted("yolov5_b24"):
        record_yolov5("yolov5_b24", rel, nb=4, epochs=30, batch_size=24)
    if wanted("ultralytics_sgd"):
        record_ultralytics("ultralytics_sgd", rel, nb=6, epochs=8, batch=16, optimizer="SGD", lr0=0.01, warmup_epochs=3.0)
    if wanted("ultralytics_auto_cos"):
        record_ultralytics("ultralytics_auto_cos", rel, nb=12, epochs=6, batch=8, optimizer="auto", cos_lr=True, warmup_epochs=1.5)
    if wanted("autoanchor"):
        record_autoanchor()
    if wanted("torch_sgdr_trace"):
        record_torch_sgdr_trace()
    for cache in (OUT / "dataset").rglob("*.cache"):  # the packages' label caches hold absolute paths
        cache.unlink()
