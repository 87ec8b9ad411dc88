#!/usr/bin/env python3
"""Writes the decoding fixtures of train/data's tests: small JPEGs (and 16-bit PNGs) and
what Pillow decodes them to.

Run with the reference virtual environment (Pillow 13 with libjpeg-turbo 3.x):

    .venv/bin/python train/data/testdata/make_decode.py

Outputs, in decode/ next to this script:
  NAME.jpg, NAME.png  the images (YCbCr, gray, CMYK and RGB JPEGs, 16-bit gray PNGs),
                      written by Pillow (libjpeg-turbo's encoder), or for the
                      subsamplings Pillow cannot write (4:4:0, 4:1:1, 4:1:0; "own_*")
                      by jpegenc.py beside this script
  pil.npz             NAME: uint8 [H, W, 3], Image.open(file).convert("RGB") as
                      torchvision's ImageFolder loader does it
  cases.json          NAME: file, mode Pillow opens it in, chroma subsampling
                      ("4:2:0", ... as Pillow's JpegImagePlugin.get_sampling reads
                      it, "" for PNGs and JPEGs that are not YCbCr), quality, progressive, and
                      "fancy": whether libjpeg's default decoding smooths the chroma
                      (4:2:2 and 4:2:0 with more than 2 chroma columns, 4:4:0), so a
                      decoder that replicates chroma samples must differ
"""
import json
import os
import shutil

import numpy as np
from PIL import Image, JpegImagePlugin, features

import jpegenc

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "decode")
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}
# The luma's sampling factors for jpegenc (chroma 1x1).
OWN_SAMPLING = {"4:4:0": (1, 2), "4:1:1": (4, 1), "4:1:0": (4, 2), "4:2:0": (2, 2)}


def pattern(kind, h, w, rng):
    """An RGB (or, for gray kinds, L) uint8 image of h rows and w columns."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if kind == "noise":
        return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    if kind == "smooth":
        r = 128 + 100 * np.sin(xx / 6.0 + yy / 9.0)
        g = 40 + 170 * xx / max(w - 1, 1)
        b = 220 - 150 * yy / max(h - 1, 1)
        return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)
    if kind == "edges":
        # Saturated colour blocks with sharp borders: chroma changes at every edge.
        colours = np.array([[230, 20, 30], [20, 200, 40], [30, 40, 220], [240, 230, 20], [250, 250, 250], [10, 10, 10]])
        k = ((xx // 5).astype(int) + 2 * (yy // 4).astype(int)) % len(colours)
        return colours[k].astype(np.uint8)
    if kind == "gray_noise":
        return rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    if kind == "gray_smooth":
        return np.clip(128 + 110 * np.sin(xx / 5.0) * np.cos(yy / 7.0), 0, 255).round().astype(np.uint8)
    raise ValueError(kind)


# name, pattern, (height, width), subsampling, quality, progressive
JPEGS = [
    ("noise_420_q75", "noise", (23, 37), "4:2:0", 75, False),
    ("noise_420_q95", "noise", (32, 48), "4:2:0", 95, False),
    ("smooth_420_q95", "smooth", (23, 37), "4:2:0", 95, False),
    ("smooth_420_q75", "smooth", (40, 33), "4:2:0", 75, False),
    ("edges_420_q90", "edges", (31, 29), "4:2:0", 90, False),
    ("noise_422_q75", "noise", (23, 37), "4:2:2", 75, False),
    ("smooth_422_q95", "smooth", (19, 21), "4:2:2", 95, False),
    ("edges_422_q75", "edges", (16, 24), "4:2:2", 75, False),
    ("noise_444_q95", "noise", (23, 37), "4:4:4", 95, False),
    ("smooth_444_q75", "smooth", (17, 9), "4:4:4", 75, False),
    ("gray_noise_q75", "gray_noise", (23, 37), "", 75, False),
    ("gray_smooth_q95", "gray_smooth", (20, 13), "", 95, False),
    ("progressive_noise_420_q85", "noise", (33, 27), "4:2:0", 85, True),
    ("progressive_smooth_444_q95", "smooth", (18, 25), "4:4:4", 95, True),
    # Tiny sizes: libjpeg smooths 4:2:x chroma only when it has more than 2 columns.
    ("tiny_420_1x1", "noise", (1, 1), "4:2:0", 95, False),
    ("tiny_420_2x3", "noise", (2, 3), "4:2:0", 95, False),
    ("tiny_420_5x4", "noise", (5, 4), "4:2:0", 95, False),
    ("tiny_420_7x5", "noise", (7, 5), "4:2:0", 95, False),
    ("tiny_422_3x2", "noise", (3, 2), "4:2:2", 95, False),
    ("tiny_422_4x6", "noise", (4, 6), "4:2:2", 95, False),
    ("tiny_444_1x2", "noise", (1, 2), "4:4:4", 95, False),
]

# Written by jpegenc.py: name, pattern, (height, width), subsampling.
OWN_JPEGS = [
    ("own_noise_440", "noise", (23, 37), "4:4:0"),
    ("own_smooth_440", "smooth", (19, 21), "4:4:0"),
    ("own_edges_440", "edges", (31, 29), "4:4:0"),
    ("own_tiny_440_5x1", "noise", (5, 1), "4:4:0"),
    ("own_noise_411", "noise", (23, 37), "4:1:1"),
    ("own_smooth_411", "smooth", (17, 30), "4:1:1"),
    ("own_noise_410", "noise", (21, 19), "4:1:0"),
    ("own_noise_420", "noise", (13, 11), "4:2:0"),
]


def write_jpegs(rng, out, cases):
    for name, kind, (h, w), sub, quality, progressive in JPEGS:
        a = pattern(kind, h, w, rng)
        im = Image.fromarray(a, "L" if a.ndim == 2 else "RGB")
        path = os.path.join(OUT, name + ".jpg")
        kw = {"quality": quality, "progressive": progressive}
        if sub:
            kw["subsampling"] = SUBSAMPLING[sub]
        im.save(path, **kw)
        with Image.open(path) as f:
            mode = f.mode
            got = JpegImagePlugin.get_sampling(f) if mode != "L" else -1
            rgb = np.asarray(f.convert("RGB"))
        want = -1 if mode == "L" else SUBSAMPLING[sub]
        assert got == want, (name, got, want)
        assert rgb.shape == (h, w, 3), (name, rgb.shape)
        out[name] = rgb
        cw = -(-w // (2 if sub in ("4:2:2", "4:2:0") else 1))
        cases[name] = {"file": name + ".jpg", "mode": mode, "subsampling": sub, "quality": quality,
                       "progressive": progressive, "fancy": sub in ("4:2:2", "4:2:0") and cw > 2}


def write_other_jpegs(rng, out, cases):
    """JPEGs that are not YCbCr: CMYK (Adobe, inverted) and RGB (Adobe transform 0)."""
    for name, kind, (h, w), mode in [("cmyk_noise_q90", "noise", (23, 37), "CMYK"),
                                     ("cmyk_smooth_q90", "smooth", (19, 21), "CMYK"),
                                     ("rgb_noise_q90", "noise", (23, 37), "RGB")]:
        a = pattern(kind, h, w, rng)
        if mode == "CMYK":  # with black ink: PIL's RGB -> CMYK would leave K at 0
            im = Image.fromarray(np.concatenate([a, a[..., :1] // 2], axis=-1), "CMYK")
        else:
            im = Image.fromarray(a, "RGB")
        path = os.path.join(OUT, name + ".jpg")
        im.save(path, quality=90, keep_rgb=mode == "RGB")
        with Image.open(path) as f:
            assert f.mode == mode and f.info.get("adobe_transform") == 0, (name, f.mode, f.info)
            rgb = np.asarray(f.convert("RGB"))
        out[name] = rgb
        cases[name] = {"file": name + ".jpg", "mode": mode, "subsampling": "", "quality": 90,
                       "progressive": False, "fancy": False}


def write_own_jpegs(rng, out, cases):
    for name, kind, (h, w), sub in OWN_JPEGS:
        path = os.path.join(OUT, name + ".jpg")
        with open(path, "wb") as f:
            f.write(jpegenc.encode(pattern(kind, h, w, rng), OWN_SAMPLING[sub]))
        with Image.open(path) as f:
            mode = f.mode
            rgb = np.asarray(f.convert("RGB"))
        assert mode == "RGB" and rgb.shape == (h, w, 3), (name, mode, rgb.shape)
        out[name] = rgb
        fancy = sub == "4:4:0" or (sub == "4:2:0" and -(-w // 2) > 2)
        cases[name] = {"file": name + ".jpg", "mode": mode, "subsampling": sub, "quality": 0,
                       "progressive": False, "fancy": fancy}


def write_pngs(rng, out, cases):
    """16-bit grayscale PNGs: Pillow opens them as "I;16" (or "I"); convert("RGB") clips."""
    h, w = 6, 11
    full = rng.integers(0, 65536, size=(h, w), dtype=np.uint16)
    low = rng.integers(0, 300, size=(h, w), dtype=np.uint16)  # mostly under 256
    for name, a in [("gray16_full", full), ("gray16_low", low)]:
        path = os.path.join(OUT, name + ".png")
        Image.fromarray(a).save(path)
        with Image.open(path) as f:
            mode = f.mode
            rgb = np.asarray(f.convert("RGB"))
        out[name] = rgb
        cases[name] = {"file": name + ".png", "mode": mode, "subsampling": "", "quality": 0,
                       "progressive": False, "fancy": False}


def main():
    if os.path.exists(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    rng = np.random.default_rng(2026)
    out, cases = {}, {}
    write_jpegs(rng, out, cases)
    write_own_jpegs(rng, out, cases)
    write_other_jpegs(rng, out, cases)
    write_pngs(rng, out, cases)
    np.savez(os.path.join(OUT, "pil.npz"), **out)
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "libjpeg_turbo": features.version("libjpeg_turbo"), "cases": cases},
                  f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", len(cases), "cases to", OUT)


if __name__ == "__main__":
    main()
