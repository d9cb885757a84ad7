"""A small YOLO-format detection dataset of filled squares, discs and triangles on noise, drawn with Pillow.

This is test data for HalfTrace's detector (and for Tools/yolov5_detector_baseline.py), written independently of
HalfTrace's own generator (`halftrace data`): other code, other random numbers, and PIL's rasterisation and PNG
encoder. Run it with any Python that has Pillow and NumPy, e.g.

    /work/venvs/images/bin/python Tools/make_shapes_dataset.py --out /tmp/pil-shapes \
        [--train 300] [--val 100] [--size 64] [--seed 0]

What it draws, per image (`size` x `size`, RGB):
- background: a base colour drawn uniformly from [0, 255]^3 per image, plus independent Gaussian noise (sigma 12)
  per pixel and per channel, rounded and clipped to [0, 255];
- 1 to 4 shapes (count uniform in {1, 2, 3, 4}), each of class uniform in {0 square, 1 disc, 2 triangle}, filled
  with one flat colour (no outline, no anti-aliasing) through PIL's ImageDraw:
    0 square:   `rectangle` on the box [x0, y0, x0 + s - 1, y0 + s - 1] (axis aligned, s x s pixels);
    1 disc:     `ellipse` on the same box;
    2 triangle: `polygon`, isosceles with base s and height s, pointing up or down (each with probability 1/2):
                base corners (x0, y1) and (x1, y1) and apex (x0 + (s - 1) // 2, y0) when pointing up, mirrored
                vertically when pointing down;
  s is uniform in [8, 32] and (x0, y0) uniform such that the box lies fully inside the image;
- overlap is limited: a placement is rejected, and a new size and position drawn (the class stays), when its box
  and the box of an earlier shape of the same image have IoU > 0.3, or when their intersection covers more than
  half of the smaller of the two boxes (IoU alone lets a small shape hide almost entirely under a big one); at
  most 100 tries, after which the shape is dropped (the script prints how many were dropped);
- shape colour: uniform in [0, 255]^3, redrawn until its mean absolute channel difference from the image's base
  colour is >= 64, so that every shape stands out from the background. Later shapes are drawn over earlier ones.

Labels: one text file per image, one line per shape in drawing order, `class cx cy w h`, normalised by the image
size, 6 decimals. The box is the tight axis-aligned bounding box of the shape's own pixels as PIL rasterises it
(the same ImageDraw call drawn into a separate mask, then `getbbox()`), in pixel-edge coordinates: a shape covering
columns l..r-1 has cx = (l + r) / 2 / size and w = (r - l) / size. It is the box of the whole shape, also where a
later shape hides part of it.

Layout under --out:
    images/train/000000.png ...   labels/train/000000.txt ...
    images/val/000000.png ...     labels/val/000000.txt ...
    data.yaml    (absolute `path:`, train: images/train, val: images/val, nc: 3, names: [square, disc, triangle])
Existing *.png in images/{train,val}, *.txt in labels/{train,val} and YOLOv5's labels/{train,val}.cache are
removed first, so the folder holds exactly one dataset.

Determinism: one numpy.random.default_rng(seed) (PCG64) draws everything, train images first and then val images,
in a fixed order; PNGs are written with PIL's defaults (zlib compressed, no metadata). The same seed, size and
counts give the same bytes on every run (data.yaml differs between output folders only by its `path:`).
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

NAMES = ["square", "disc", "triangle"]
NOISE_SIGMA = 12.0
MIN_SIDE, MAX_SIDE = 8, 32
MAX_IOU = 0.3
MAX_COVER = 0.5  # intersection / area of the smaller box
MAX_TRIES = 100
MIN_CONTRAST = 64.0


def overlap(a, b):
    """IoU of two boxes (l, t, r, b) in pixel-edge coordinates, and their intersection over the smaller box."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0, 0.0
    inter = iw * ih
    area_a, area_b = (a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area_a + area_b - inter), inter / min(area_a, area_b)


def overlap_ok(a, b):
    iou, cover = overlap(a, b)
    return iou <= MAX_IOU and cover <= MAX_COVER


def draw_shape(draw, cls, x0, y0, s, up, fill):
    """Draws one filled shape with PIL's ImageDraw on the box [x0, y0, x0 + s - 1, y0 + s - 1]."""
    x1, y1 = x0 + s - 1, y0 + s - 1
    if cls == 0:
        draw.rectangle([x0, y0, x1, y1], fill=fill)
    elif cls == 1:
        draw.ellipse([x0, y0, x1, y1], fill=fill)
    else:
        ax = x0 + (s - 1) // 2
        if up:
            draw.polygon([(x0, y1), (x1, y1), (ax, y0)], fill=fill)
        else:
            draw.polygon([(x0, y0), (x1, y0), (ax, y1)], fill=fill)


def make_image(rng, size):
    """One image and its labels [(cls, (l, t, r, b))]; also the number of shapes that could not be placed."""
    base = rng.integers(0, 256, size=3)
    noise = rng.normal(0.0, NOISE_SIGMA, size=(size, size, 3))
    pixels = np.clip(np.rint(base + noise), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)

    labels, dropped = [], 0
    for _ in range(int(rng.integers(1, 5))):
        cls = int(rng.integers(0, 3))
        placed = None
        for _ in range(MAX_TRIES):
            s = int(rng.integers(MIN_SIDE, MAX_SIDE + 1))
            x0 = int(rng.integers(0, size - s + 1))
            y0 = int(rng.integers(0, size - s + 1))
            up = bool(rng.integers(0, 2))
            mask = Image.new("L", (size, size), 0)
            draw_shape(ImageDraw.Draw(mask), cls, x0, y0, s, up, 255)
            box = mask.getbbox()
            if all(overlap_ok(box, other) for _, other in labels):
                placed = (x0, y0, s, up, box)
                break
        if placed is None:
            dropped += 1
            continue
        while True:
            colour = rng.integers(0, 256, size=3)
            if np.abs(colour - base).mean() >= MIN_CONTRAST:
                break
        x0, y0, s, up, box = placed
        draw_shape(draw, cls, x0, y0, s, up, tuple(int(c) for c in colour))
        labels.append((cls, box))
    return image, labels, dropped


def label_text(labels, size):
    lines = []
    for cls, (l, t, r, b) in labels:
        cx, cy = (l + r) / 2 / size, (t + b) / 2 / size
        w, h = (r - l) / size, (b - t) / size
        lines.append(f"{cls} {cx:.6f} {cy:.6f} {w:.6f} {h:.6f}\n")
    return "".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description="Draws a YOLO dataset of squares, discs and triangles on noise (PIL).")
    p.add_argument("--out", required=True, help="output folder (created; its old images and labels are removed)")
    p.add_argument("--train", type=int, default=300, help="number of training images")
    p.add_argument("--val", type=int, default=100, help="number of validation images")
    p.add_argument("--size", type=int, default=64, help="image side in pixels (>= 32)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.size < MAX_SIDE:
        p.error(f"--size must be at least {MAX_SIDE}")
    if args.train < 0 or args.val < 0:
        p.error("--train and --val must be >= 0")

    out = Path(args.out).resolve()
    rng = np.random.default_rng(args.seed)
    counts = {}
    total_dropped = 0
    for split, n in (("train", args.train), ("val", args.val)):
        img_dir, lbl_dir = out / "images" / split, out / "labels" / split
        img_dir.mkdir(parents=True, exist_ok=True)
        lbl_dir.mkdir(parents=True, exist_ok=True)
        for old in list(img_dir.glob("*.png")) + list(lbl_dir.glob("*.txt")):
            old.unlink()
        (out / "labels" / f"{split}.cache").unlink(missing_ok=True)
        per_class = [0, 0, 0]
        for i in range(n):
            image, labels, dropped = make_image(rng, args.size)
            total_dropped += dropped
            image.save(img_dir / f"{i:06d}.png")
            (lbl_dir / f"{i:06d}.txt").write_text(label_text(labels, args.size))
            for cls, _ in labels:
                per_class[cls] += 1
        counts[split] = per_class

    (out / "data.yaml").write_text(
        f"path: {out}\n"
        "train: images/train\n"
        "val: images/val\n"
        "nc: 3\n"
        f"names: [{', '.join(NAMES)}]\n")

    for split, per_class in counts.items():
        detail = ", ".join(f"{name} {c}" for name, c in zip(NAMES, per_class))
        print(f"{split}: {args.train if split == 'train' else args.val} images, {sum(per_class)} boxes ({detail})")
    print(f"shapes dropped (no placement with IoU <= {MAX_IOU} and cover <= {MAX_COVER} in {MAX_TRIES} tries): "
          f"{total_dropped}")
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
