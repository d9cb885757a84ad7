"""Records image fixtures for HalfTrace's PNG and PPM decoders, written by real, independent
encoders (Pillow, pypng) or, where no common encoder writes the variant, by hand from the spec:
16-bit and ASCII PPMs, and three PNGs whose chunks and scanline filters are written here (so that
all five filters, multi-block zlib streams and odd IDAT splits appear) around a zlib stream from
CPython's zlib. Broken files are derived from a valid Pillow PNG. Pillow writes a palette of at
most 16 colours at bit depth 4, so the 16-colour adaptive-palette file is a refused fixture and the
8-bit palette fixture uses 40 colours. Run from a virtual environment outside the repository:

    python3 -m venv /work/venvs/images
    /work/venvs/images/bin/pip install pillow numpy pypng
    /work/venvs/images/bin/python Tests/HalfTraceTests/Fixtures/record_images.py

(recorded with Pillow 13.0.0 linked to zlib 1.2.13, pypng 0.20220715.0, numpy 2.4.6, CPython
3.11.7 with zlib 1.2.13; images.json records the versions actually used.)

It writes Tests/HalfTraceTests/Fixtures/images/*.{png,ppm} and
Tests/HalfTraceTests/Fixtures/images.json. Every pixel array comes from a seeded NumPy generator
and nothing variable (no tIME chunk, no timestamp, no path) is embedded, so two runs with the same
library versions are byte-identical. A different zlib may choose other deflate blocks and so write
other (equally valid) PNG bytes; the expected pixels do not change.

images.json:
    {"generator", "versions": {...}, "images": [entry, ...]}
  a valid entry:   {"file", "width", "height", "rgb", "writer", ...informational keys}
      rgb: the expected 8-bit RGB bytes, row-major, 3 per pixel, taken from the generated arrays
      (never from a decoder): alpha dropped; grey replicated to R = G = B; palette indices
      expanded through the palette; 16-bit PNG samples -> their high byte (v >> 8); PPM samples
      with maxval m -> (v * 255 + m // 2) // m.
      Informational keys, for PNGs: "color_type", "bit_depth", "idat_chunks", "filters" (the
      scanline filter types used, sorted), "deflate" (the deflate block types in stream order:
      "stored" | "fixed" | "dynamic"), "matches" (number of LZ77 back-references),
      "max_distance", "chunks" (the chunk types in file order); for PPMs: "format"
      ("P6" | "P3") and "maxval". Extra keys: "compress_level", "optimize" (Pillow's options).
  a refused entry: {"file", "error"} with error one of
      "truncated" | "crc" | "bitdepth" | "interlaced"

Cross-checks (the script stops with an AssertionError if one fails): every valid file is decoded
back by Pillow (8-bit PNGs, PPMs) and/or pypng (16-bit PNGs, the hand-framed and interlaced
ones) and must give exactly the generated array (including alpha and palette indices); the
deflate block listing comes from a small inflater below whose output must equal zlib.decompress
of the same IDAT stream; the broken files are checked structurally (which chunk is cut, which
CRC fails, which CRC still holds).
"""
import json
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np
import png  # pypng
import PIL
import PIL.features
from PIL import Image
from PIL.PngImagePlugin import PngInfo

HERE = Path(__file__).resolve().parent
OUT = HERE / "images"
JSON_PATH = HERE / "images.json"

PIL_WRITER = f"PIL {PIL.__version__}"
PYPNG_WRITER = f"pypng {png.__version__}"
HAND = "by hand"

PNG_SIG = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------------------------
# PNG chunk helpers
# ---------------------------------------------------------------------------------------------

def chunks(data):
    """[(type, payload, crc_ok, offset)] for a complete PNG; asserts the framing is intact."""
    assert data[:8] == PNG_SIG
    out, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        payload = data[pos + 8:pos + 8 + length]
        assert len(payload) == length, "chunk runs past the end"
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        out.append((ctype, payload, zlib.crc32(ctype + payload) == crc, pos))
        pos += 12 + length
    assert pos == len(data)
    return out


def make_chunk(ctype, payload):
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(
        ">I", zlib.crc32(ctype + payload))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def filter_rows(raw_rows, bpp, filters):
    """PNG scanline filtering (spec section 9) of raw byte rows, filter type filters[r] on row r."""
    out, prev = bytearray(), bytes(len(raw_rows[0]))
    for row, ft in zip(raw_rows, filters):
        out.append(ft)
        for i, x in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            pred = [0, a, b, (a + b) // 2, paeth(a, b, c)][ft]
            out.append((x - pred) & 255)
        prev = row
    return bytes(out)


def write_png_by_hand(path, arr, color_type, bit_depth, filters, idat_sizes, flushes=(),
                      **zopts):
    """A PNG framed by hand: chosen scanline filter per row, the zlib stream from CPython's zlib
    (compressobj(**zopts)), flushed with mode m after row r for each (r, m) in flushes, and split
    into IDAT chunks of the given sizes (the rest in a last one)."""
    h, w = arr.shape[:2]
    dtype = ">u2" if bit_depth == 16 else np.uint8
    rows = [arr[r].astype(dtype).tobytes() for r in range(h)]
    bpp = arr.reshape(h, w, -1).shape[2] * bit_depth // 8
    raw = filter_rows(rows, bpp, filters)
    stride = len(raw) // h
    co = zlib.compressobj(**zopts)
    stream, start = b"", 0
    for row_end, mode in flushes:
        stream += co.compress(raw[start * stride:row_end * stride]) + co.flush(mode)
        start = row_end
    stream += co.compress(raw[start * stride:]) + co.flush()
    parts, pos = [], 0
    for n in idat_sizes:
        parts.append(stream[pos:pos + n])
        pos += n
    parts.append(stream[pos:])
    ihdr = struct.pack(">IIBBBBB", w, h, bit_depth, color_type, 0, 0, 0)
    data = PNG_SIG + make_chunk(b"IHDR", ihdr)
    data += b"".join(make_chunk(b"IDAT", p) for p in parts) + make_chunk(b"IEND", b"")
    path.write_bytes(data)


# ---------------------------------------------------------------------------------------------
# A small inflater (RFC 1950/1951) that also lists the block types and LZ77 statistics
# ---------------------------------------------------------------------------------------------

LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258]
LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
             1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
DIST_EXTRA = [0, 0, 0, 0] + [i // 2 for i in range(2, 28)]
CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


class Bits:
    def __init__(self, data):
        self.data, self.pos = data, 0  # pos in bits

    def bit(self):
        b = (self.data[self.pos >> 3] >> (self.pos & 7)) & 1
        self.pos += 1
        return b

    def bits(self, n):
        v = 0
        for i in range(n):
            v |= self.bit() << i
        return v

    def align(self):
        self.pos = (self.pos + 7) & ~7


def huffman(lengths):
    """Canonical code -> {(code_length, code): symbol}."""
    table, code = {}, 0
    for n in range(1, 16):
        for sym, ln in enumerate(lengths):
            if ln == n:
                table[(n, code)] = sym
                code += 1
        code <<= 1
    return table


def decode_sym(br, table):
    code = 0
    for n in range(1, 16):
        code = (code << 1) | br.bit()
        if (n, code) in table:
            return table[(n, code)]
    raise ValueError("bad Huffman code")


def inflate_zlib(stream):
    """Returns (data, block types, number of matches, max distance); checks header and Adler-32."""
    cmf, flg = stream[0], stream[1]
    assert cmf & 15 == 8 and (cmf * 256 + flg) % 31 == 0 and not flg & 32
    br = Bits(stream[2:])
    out, blocks, matches, max_dist = bytearray(), [], 0, 0
    fixed_lit = huffman([8] * 144 + [9] * 112 + [7] * 24 + [8] * 8)
    fixed_dist = huffman([5] * 30)
    while True:
        final, btype = br.bit(), br.bits(2)
        if btype == 0:
            blocks.append("stored")
            br.align()
            p = br.pos >> 3
            ln, nln = struct.unpack("<HH", br.data[p:p + 4])
            assert ln ^ nln == 0xFFFF
            out += br.data[p + 4:p + 4 + ln]
            br.pos = (p + 4 + ln) * 8
        else:
            if btype == 1:
                blocks.append("fixed")
                lit, dist = fixed_lit, fixed_dist
            elif btype == 2:
                blocks.append("dynamic")
                hlit, hdist, hclen = br.bits(5) + 257, br.bits(5) + 1, br.bits(4) + 4
                cl = [0] * 19
                for i in range(hclen):
                    cl[CL_ORDER[i]] = br.bits(3)
                clt = huffman(cl)
                lens = []
                while len(lens) < hlit + hdist:
                    s = decode_sym(br, clt)
                    if s < 16:
                        lens.append(s)
                    elif s == 16:
                        lens += [lens[-1]] * (3 + br.bits(2))
                    elif s == 17:
                        lens += [0] * (3 + br.bits(3))
                    else:
                        lens += [0] * (11 + br.bits(7))
                assert len(lens) == hlit + hdist
                lit, dist = huffman(lens[:hlit]), huffman(lens[hlit:])
            else:
                raise ValueError("reserved block type 3")
            while True:
                s = decode_sym(br, lit)
                if s < 256:
                    out.append(s)
                elif s == 256:
                    break
                else:
                    ln = LEN_BASE[s - 257] + br.bits(LEN_EXTRA[s - 257])
                    d = decode_sym(br, dist)
                    d = DIST_BASE[d] + br.bits(DIST_EXTRA[d])
                    assert d <= len(out)
                    for _ in range(ln):
                        out.append(out[-d])
                    matches += 1
                    max_dist = max(max_dist, d)
        if final:
            break
    br.align()
    p = br.pos >> 3
    (adler,) = struct.unpack(">I", br.data[p:p + 4])
    assert adler == zlib.adler32(bytes(out))
    assert p + 4 == len(br.data), "bytes after the zlib stream"
    return bytes(out), blocks, matches, max_dist


def png_info(path):
    """Structural facts about a valid, non-interlaced PNG (all CRCs checked)."""
    data = path.read_bytes()
    cs = chunks(data)
    assert all(ok for _, _, ok, _ in cs)
    assert cs[0][0] == b"IHDR" and cs[-1][0] == b"IEND"
    w, h, depth, ctype, comp, filt, interlace = struct.unpack(">IIBBBBB", cs[0][1])
    assert (comp, filt, interlace) == (0, 0, 0)
    idats = [p for t, p, _, _ in cs if t == b"IDAT"]
    stream = b"".join(idats)
    raw, blocks, matches, max_dist = inflate_zlib(stream)
    assert raw == zlib.decompress(stream), "the inflater disagrees with zlib"
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    stride = 1 + w * channels * depth // 8
    assert len(raw) == h * stride
    filters = sorted({raw[r * stride] for r in range(h)})
    return {
        "color_type": ctype, "bit_depth": depth, "idat_chunks": len(idats),
        "filters": filters, "deflate": blocks, "matches": matches, "max_distance": max_dist,
        "chunks": [t.decode() for t, _, _, _ in cs],
    }


# ---------------------------------------------------------------------------------------------
# Pixel arrays
# ---------------------------------------------------------------------------------------------

rng = np.random.default_rng(20240611)


def smooth(h, w, c, noise):
    """Gradients plus a little seeded noise: compressible, so adaptive filters and matches vary."""
    y = np.arange(h)[:, None, None]
    x = np.arange(w)[None, :, None]
    k = np.arange(c)[None, None, :]
    base = (x * (17 + 9 * k) + y * (11 + 23 * k) + 40 * k) % 256
    n = rng.integers(-noise, noise + 1, size=(h, w, c)) if noise else 0
    return np.clip(base + n, 0, 255).astype(np.uint8)


def rgb_bytes(a):
    """Expected RGB bytes from an (h, w, 3) uint8 array."""
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    return [int(v) for v in a.reshape(-1)]


def grey_to_rgb(g):
    return rgb_bytes(np.repeat(g[:, :, None], 3, axis=2))


entries = []


def add_valid(name, w, h, rgb, writer, **info):
    assert len(rgb) == w * h * 3 and all(0 <= v <= 255 for v in rgb)
    path = OUT / name
    if name.endswith(".png"):
        pi = png_info(path)
        info = {**pi, **info}
    entries.append({"file": name, "width": w, "height": h, "rgb": rgb, "writer": writer, **info})


def add_refused(name, error):
    entries.append({"file": name, "error": error})


def check_pil(path, mode, arr):
    with Image.open(path) as im:
        assert im.mode == mode, (path.name, im.mode)
        got = np.asarray(im)
    assert got.shape == arr.shape and np.array_equal(got, arr), path.name


def check_pypng(path, arr, greyscale, alpha, bitdepth, interlace=False):
    r = png.Reader(filename=str(path))
    w, h, rows, meta = r.read()
    assert meta["bitdepth"] == bitdepth and meta["greyscale"] == greyscale
    assert meta["alpha"] == alpha and bool(meta["interlace"]) == interlace
    got = np.array([list(row) for row in rows])
    assert np.array_equal(got, arr.reshape(h, -1).astype(np.int64)), path.name


def write_pypng(path, arr, greyscale, alpha, bitdepth, **kw):
    h, w = arr.shape[:2]
    wr = png.Writer(w, h, greyscale=greyscale, alpha=alpha, bitdepth=bitdepth, **kw)
    with open(path, "wb") as f:
        wr.write(f, arr.reshape(h, -1).tolist())


def scale(v, maxval):
    """HalfTrace's PPM scaling; asserts it is round-to-nearest with no ties for this maxval."""
    r = (v * 255 + maxval // 2) // maxval
    exact = Fraction(v * 255, maxval)
    assert abs(exact - r) < Fraction(1, 2)
    return r


def main():
    OUT.mkdir(exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()

    # --- Pillow, 8-bit ------------------------------------------------------------------------
    rgb13 = smooth(9, 13, 3, noise=3)            # 13 x 9 RGB
    for level in (0, 1, 6, 9):
        name = f"rgb8_13x9_pil_level{level}.png"
        Image.fromarray(rgb13, "RGB").save(OUT / name, compress_level=level)
        check_pil(OUT / name, "RGB", rgb13)
        add_valid(name, 13, 9, rgb_bytes(rgb13), PIL_WRITER, compress_level=level)

    # Ancillary chunks a decoder must skip: pHYs (from dpi) and tEXt / zTXt (from PngInfo), all
    # placed by Pillow between IHDR and IDAT.
    info = PngInfo()
    info.add_text("Comment", "HalfTrace fixture")
    info.add_text("Software", "record_images.py", zip=True)
    name = "rgb8_13x9_pil_ancillary.png"
    Image.fromarray(rgb13, "RGB").save(OUT / name, dpi=(72, 72), pnginfo=info)
    kinds = [t for t, _, _, _ in chunks((OUT / name).read_bytes())]
    assert {b"pHYs", b"tEXt", b"zTXt"} <= set(kinds), kinds
    check_pil(OUT / name, "RGB", rgb13)
    add_valid(name, 13, 9, rgb_bytes(rgb13), PIL_WRITER)

    rgb16 = smooth(16, 16, 3, noise=6)           # 16 x 16 RGB, optimize=True
    name = "rgb8_16x16_pil_optimize.png"
    Image.fromarray(rgb16, "RGB").save(OUT / name, optimize=True)
    check_pil(OUT / name, "RGB", rgb16)
    add_valid(name, 16, 16, rgb_bytes(rgb16), PIL_WRITER, optimize=True)

    # A few flat colours, few bytes: small enough that zlib picks a fixed-Huffman block.
    flat = np.array([[20, 200, 60], [250, 250, 250], [0, 0, 0], [128, 64, 32]], dtype=np.uint8)
    rgbflat = flat[rng.integers(0, 4, size=(5, 7))]
    name = "rgb8_7x5_pil_fewcolours.png"
    Image.fromarray(rgbflat, "RGB").save(OUT / name, compress_level=6)
    check_pil(OUT / name, "RGB", rgbflat)
    add_valid(name, 7, 5, rgb_bytes(rgbflat), PIL_WRITER, compress_level=6)

    rgba = np.concatenate([smooth(9, 13, 3, noise=4),
                           rng.integers(0, 256, size=(9, 13, 1), dtype=np.uint8)], axis=2)
    name = "rgba8_13x9_pil.png"
    Image.fromarray(rgba, "RGBA").save(OUT / name)
    check_pil(OUT / name, "RGBA", rgba)
    add_valid(name, 13, 9, rgb_bytes(rgba[:, :, :3]), PIL_WRITER)

    grey = smooth(16, 16, 1, noise=5)[:, :, 0]
    name = "grey8_16x16_pil.png"
    Image.fromarray(grey, "L").save(OUT / name)
    check_pil(OUT / name, "L", grey)
    add_valid(name, 16, 16, grey_to_rgb(grey), PIL_WRITER)

    la = np.stack([smooth(9, 13, 1, noise=2)[:, :, 0],
                   rng.integers(0, 256, size=(9, 13), dtype=np.uint8)], axis=2)
    name = "greyalpha8_13x9_pil.png"
    Image.fromarray(la, "LA").save(OUT / name)
    check_pil(OUT / name, "LA", la)
    add_valid(name, 13, 9, grey_to_rgb(la[:, :, 0]), PIL_WRITER)

    # Palette: the palette and the indices are generated directly (not quantised by Pillow), so
    # the expectation is palette[index]. Pillow writes a palette of <= 16 colours at bit depth
    # 1/2/4, so the 8-bit fixture uses 40 colours; a 16-colour one is kept as a refused fixture.
    pal = rng.integers(0, 256, size=(40, 3), dtype=np.uint8)
    idx = rng.integers(0, 40, size=(9, 13), dtype=np.uint8)
    name = "palette8_13x9_pil.png"
    im = Image.fromarray(idx, "P")
    im.putpalette(pal.reshape(-1).tolist())
    im.save(OUT / name)
    check_pil(OUT / name, "P", idx)
    with Image.open(OUT / name) as im2:
        assert np.array_equal(np.asarray(im2.convert("RGB")), pal[idx])
    add_valid(name, 13, 9, rgb_bytes(pal[idx]), PIL_WRITER)

    # The brief's recipe, convert("P", palette=ADAPTIVE, colors=16): Pillow writes bit depth 4.
    name = "palette4_16x16_pil_adaptive16.png"
    Image.fromarray(rgb16, "RGB").convert("P", palette=Image.ADAPTIVE, colors=16).save(OUT / name)
    ihdr = chunks((OUT / name).read_bytes())[0][1]
    assert ihdr[8:10] == bytes([4, 3]), "expected Pillow to write a 4-bit palette PNG"
    add_refused(name, "bitdepth")

    # Larger 64 x 64 RGB: a repeating 8 x 5 tile (LZ77 matches at several distances) with seeded
    # noise sprinkled over a quarter of the pixels (literals, dynamic Huffman codes).
    tile = rng.integers(0, 256, size=(5, 8, 3), dtype=np.uint8)
    big = np.tile(tile, (13, 8, 1))[:64, :64].copy()
    mask = rng.random((64, 64)) < 0.25
    big[mask] = rng.integers(0, 256, size=(int(mask.sum()), 3), dtype=np.uint8)
    name = "rgb8_64x64_pil_noisy.png"
    Image.fromarray(big, "RGB").save(OUT / name)
    check_pil(OUT / name, "RGB", big)
    add_valid(name, 64, 64, rgb_bytes(big), PIL_WRITER)

    # --- pypng, 16-bit ------------------------------------------------------------------------
    def sixteen(h, w, c, smooth_noise=None):
        """Uniform 16-bit noise (incompressible), or with smooth_noise a gradient that is constant
        over 4 x 4 squares, plus that much noise (compressible)."""
        if smooth_noise is None:
            a = rng.integers(0, 65536, size=(h, w, c), dtype=np.uint16)
        else:
            y, x, k = np.ogrid[:h, :w, :c]
            n = rng.integers(-smooth_noise, smooth_noise + 1, size=(h, w, c))
            a = 20000 + 2800 * (x // 4) + 1600 * (y // 4) + 9000 * k + n
            a = np.clip(a, 0, 65535).astype(np.uint16)
        a.reshape(-1)[:4] = [0, 0x00FF, 0xFF00, 0xFFFF]   # extremes of both bytes
        return a

    def hi(a):
        return (a >> 8).astype(np.uint8)

    rgb48 = sixteen(9, 13, 3)
    name = "rgb16_13x9_pypng.png"
    write_pypng(OUT / name, rgb48, greyscale=False, alpha=False, bitdepth=16)
    check_pypng(OUT / name, rgb48, False, False, 16)
    add_valid(name, 13, 9, rgb_bytes(hi(rgb48)), PYPNG_WRITER)

    g16 = sixteen(16, 16, 1, smooth_noise=1)
    name = "grey16_16x16_pypng.png"
    write_pypng(OUT / name, g16, greyscale=True, alpha=False, bitdepth=16)
    check_pypng(OUT / name, g16, True, False, 16)
    add_valid(name, 16, 16, grey_to_rgb(hi(g16)[:, :, 0]), PYPNG_WRITER)

    ga16 = sixteen(9, 13, 2, smooth_noise=0)
    name = "greyalpha16_13x9_pypng.png"
    write_pypng(OUT / name, ga16, greyscale=True, alpha=True, bitdepth=16)
    check_pypng(OUT / name, ga16, True, True, 16)
    add_valid(name, 13, 9, grey_to_rgb(hi(ga16)[:, :, 0]), PYPNG_WRITER)

    # RGBA 16-bit, split into several IDAT chunks (chunk_limit = 256 bytes).
    rgba64 = sixteen(9, 13, 4)
    name = "rgba16_13x9_pypng_multiidat.png"
    write_pypng(OUT / name, rgba64, greyscale=False, alpha=True, bitdepth=16, chunk_limit=256)
    check_pypng(OUT / name, rgba64, False, True, 16)
    add_valid(name, 13, 9, rgb_bytes(hi(rgba64)[:, :, :3]), PYPNG_WRITER)

    # --- framed by hand: every scanline filter, many deflate blocks, IDAT splits ---------------
    # 21 x 15 RGB in bands of three rows: four flat colours, uniform noise, a noisy gradient,
    # uniform noise, flat colours. Row r uses filter r % 5 (each filter appears three times).
    # The zlib stream is flushed after each band (Z_BLOCK, and once Z_FULL_FLUSH, which adds an
    # empty stored block), so each band gets its own deflate block(s) and zlib picks stored, fixed
    # or dynamic for each; stored blocks follow Huffman blocks, so they start mid-byte. The stream
    # is split into IDATs of 1 byte (half of the zlib header), 0 bytes (an empty IDAT), 5 bytes,
    # 40 bytes and the rest, so chunk boundaries fall inside the header and inside blocks.
    allf = np.concatenate([flat[rng.integers(0, 4, size=(3, 21))],
                           rng.integers(0, 256, size=(3, 21, 3), dtype=np.uint8),
                           smooth(3, 21, 3, noise=2),
                           rng.integers(0, 256, size=(3, 21, 3), dtype=np.uint8),
                           flat[rng.integers(0, 4, size=(3, 21))]], axis=0)
    name = "rgb8_21x15_hand_allfilters_multiblock.png"
    write_png_by_hand(OUT / name, allf, 2, 8, [r % 5 for r in range(15)], [1, 0, 5, 40],
                      flushes=[(3, zlib.Z_BLOCK), (6, zlib.Z_FULL_FLUSH), (9, zlib.Z_BLOCK),
                               (12, zlib.Z_BLOCK)], level=9)
    check_pil(OUT / name, "RGB", allf)
    check_pypng(OUT / name, allf, False, False, 8)
    add_valid(name, 21, 15, rgb_bytes(allf), f"by hand (zlib {zlib.ZLIB_RUNTIME_VERSION})")

    # 16-bit RGB (6 bytes per pixel) and 16-bit grey+alpha (4 bytes per pixel) with every filter.
    rgb48f = sixteen(10, 13, 3, smooth_noise=300)
    name = "rgb16_13x10_hand_allfilters.png"
    write_png_by_hand(OUT / name, rgb48f, 2, 16, [r % 5 for r in range(10)], [], level=6)
    check_pypng(OUT / name, rgb48f, False, False, 16)
    add_valid(name, 13, 10, rgb_bytes(hi(rgb48f)), f"by hand (zlib {zlib.ZLIB_RUNTIME_VERSION})")

    ga16f = sixteen(10, 7, 2, smooth_noise=2)
    name = "greyalpha16_7x10_hand_allfilters.png"
    write_png_by_hand(OUT / name, ga16f, 4, 16, [(r + 2) % 5 for r in range(10)], [], level=6)
    check_pypng(OUT / name, ga16f, True, True, 16)
    add_valid(name, 7, 10, grey_to_rgb(hi(ga16f)[:, :, 0]),
              f"by hand (zlib {zlib.ZLIB_RUNTIME_VERSION})")

    # Interlaced (Adam7) 8-bit RGB: valid PNG, which HalfTrace must refuse.
    inter = smooth(9, 13, 3, noise=8)
    name = "rgb8_13x9_pypng_interlaced.png"
    write_pypng(OUT / name, inter, greyscale=False, alpha=False, bitdepth=8, interlace=True)
    check_pypng(OUT / name, inter, False, False, 8, interlace=True)
    check_pil(OUT / name, "RGB", inter)
    assert chunks((OUT / name).read_bytes())[0][1][12] == 1
    add_refused(name, "interlaced")

    # --- PPM ----------------------------------------------------------------------------------
    ppm8 = smooth(9, 13, 3, noise=10)
    name = "p6_13x9_maxval255_pil.ppm"
    Image.fromarray(ppm8, "RGB").save(OUT / name)
    assert (OUT / name).read_bytes().startswith(b"P6\n13 9\n255\n")
    check_pil(OUT / name, "RGB", ppm8)
    add_valid(name, 13, 9, rgb_bytes(ppm8), PIL_WRITER, format="P6", maxval=255)

    # P6 maxval 65535 by hand: big-endian 16-bit samples.
    ppm16 = sixteen(9, 13, 3)
    ppm16.reshape(-1)[4:10] = [128, 129, 32767, 32768, 65407, 65408]  # rounding boundaries
    name = "p6_13x9_maxval65535_hand.ppm"
    (OUT / name).write_bytes(b"P6\n13 9\n65535\n" + ppm16.astype(">u2").tobytes())
    with Image.open(OUT / name) as im:       # Pillow reads 16-bit PPM samples unscaled
        got = np.asarray(im)
        if im.mode == "RGB":                  # (in case a Pillow version scales to 8 bits)
            assert np.array_equal(got, np.vectorize(lambda v: scale(int(v), 65535))(ppm16))
        else:
            assert np.array_equal(got.astype(np.int64), ppm16.astype(np.int64)), im.mode
    exp16 = [scale(int(v), 65535) for v in ppm16.reshape(-1)]
    assert exp16 != [int(v) >> 8 for v in ppm16.reshape(-1)]  # scaling is not "high byte"
    add_valid(name, 13, 9, exp16, HAND, format="P6", maxval=65535)

    # P3 ASCII, maxval 15, a comment line in the header, lines kept under 70 characters.
    p3 = rng.integers(0, 16, size=(5, 7, 3))
    p3.reshape(-1)[:2] = [0, 15]
    vals = [str(int(v)) for v in p3.reshape(-1)]
    lines, line = [], ""
    for v in vals:
        if len(line) + 1 + len(v) > 69:
            lines.append(line)
            line = v
        else:
            line = f"{line} {v}" if line else v
    lines.append(line)
    text = "P3\n# written by hand by record_images.py: 7 x 5, maxval 15\n7 5\n15\n"
    text += "\n".join(lines) + "\n"
    name = "p3_7x5_maxval15_hand.ppm"
    (OUT / name).write_bytes(text.encode("ascii"))
    with Image.open(OUT / name) as im:        # Pillow's plain-PPM reader scales to 0..255
        assert im.mode == "RGB"
        assert np.array_equal(np.asarray(im), np.vectorize(lambda v: scale(int(v), 15))(p3))
    add_valid(name, 7, 5, [scale(int(v), 15) for v in p3.reshape(-1)], HAND, format="P3",
              maxval=15)

    # --- broken files, derived from rgb8_13x9_pil_level6.png -----------------------------------
    src = (OUT / "rgb8_13x9_pil_level6.png").read_bytes()
    cs = chunks(src)
    assert [t for t, _, _, _ in cs] == [b"IHDR", b"IDAT", b"IEND"]

    name = "broken_truncated_half.png"
    (OUT / name).write_bytes(src[:len(src) // 2])
    add_refused(name, "truncated")

    name = "broken_truncated_before_iend.png"
    iend_at = cs[-1][3]
    assert iend_at == len(src) - 12
    (OUT / name).write_bytes(src[:iend_at])
    add_refused(name, "truncated")

    name = "broken_idat_crc.png"
    _, idat, _, idat_at = cs[1]
    flip = idat_at + 8 + len(idat) // 2
    bad = bytearray(src)
    bad[flip] ^= 0xFF
    (OUT / name).write_bytes(bytes(bad))
    oks = [ok for _, _, ok, _ in chunks(bytes(bad))]
    assert oks == [True, False, True]
    add_refused(name, "crc")

    name = "broken_ihdr_bitdepth4.png"
    ihdr = bytearray(cs[0][1])
    assert ihdr[8] == 8
    ihdr[8] = 4
    bad = src[:8] + make_chunk(b"IHDR", bytes(ihdr)) + src[8 + 25:]
    assert len(bad) == len(src) and all(ok for _, _, ok, _ in chunks(bad))
    (OUT / name).write_bytes(bad)
    add_refused(name, "bitdepth")

    # --- JSON ---------------------------------------------------------------------------------
    doc = {
        "generator": "record_images.py",
        "versions": {
            "pillow": PIL.__version__,
            "pillow_zlib": PIL.features.version("zlib"),
            "pypng": png.__version__,
            "python_zlib": zlib.ZLIB_RUNTIME_VERSION,
            "numpy": np.__version__,
        },
        "notes": "rgb: expected 8-bit RGB bytes, row-major, from the generated arrays; alpha "
                 "dropped, grey replicated, palette expanded, 16-bit PNG -> high byte, PPM -> "
                 "(v*255 + maxval//2) // maxval. error: truncated | crc | bitdepth | interlaced.",
        "images": entries,
    }
    lines = []
    for e in entries:
        lines.append(json.dumps(e, separators=(",", ":")))
    head = json.dumps({k: v for k, v in doc.items() if k != "images"}, indent=1)[:-2]
    JSON_PATH.write_text(head + ',\n "images": [\n' + ",\n".join(lines) + "\n ]\n}\n")
    assert json.loads(JSON_PATH.read_text()) == doc

    for e in entries:
        size = (OUT / e["file"]).stat().st_size
        desc = e.get("error") or " ".join(
            f"{k}={e[k]}" for k in ("color_type", "bit_depth", "idat_chunks", "filters",
                                    "deflate", "matches", "max_distance", "format", "maxval")
            if k in e)
        print(f"{e['file']:40s} {size:6d}  {desc}")


if __name__ == "__main__":
    main()
