#!/usr/bin/env python3
"""Writes the image-folder fixtures of train/data's tests with PIL and torchvision.

Run with the reference virtual environment (Pillow 13: unlike Debian's 9.4, its resize
that shrinks the height by more than twice what it shrinks the width runs the
vertical pass first, which changes "mixed" by one grey level):

    .venv/bin/python train/data/testdata/make.py

Outputs, next to this script:
  folder/               a small image folder: classes created in unsorted order
                        ("zebra", "Apple", "mango"), PNGs of modes RGB, RGBA, P,
                        L and LA, a 4:4:4 JPEG, a nested subfolder, a file that
                        is not an image; every image 5 rows x 7 columns
  torchvision.npz       what torchvision.datasets.ImageFolder gives for it:
                          y          labels, in ImageFolder's sample order
                          plain      ToTensor, Normalize(ImageNet)
                          down       Resize((3, 4)), ToTensor, Normalize(ImageNet)
                          up         Resize((11, 9)), ...
                          mixed      Resize((3, 9)), ...
                          gray       Grayscale(), Resize((4, 6)), ToTensor, Normalize([0.449], [0.226])
                          gray_plain Grayscale(), ToTensor, Normalize([0.449], [0.226])
                          {down,up,mixed,wide}_{bicubic,nearest}
                                     Resize(size, interpolation=BICUBIC or NEAREST), ToTensor,
                                     Normalize(ImageNet); sizes (3, 4), (11, 9), (3, 9), (10, 3)
  torchvision.json      classes, sample files (relative to folder/), jpeg flags
"""
import json
import os
import shutil

import numpy as np
import torch
from PIL import Image
from torchvision import datasets, transforms

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "folder")
W, H = 7, 5
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
GRAY = ([0.449], [0.226])


def write_images():
    if os.path.exists(FOLDER):
        shutil.rmtree(FOLDER)
    rng = np.random.default_rng(11)
    noise = lambda c: rng.integers(0, 256, size=(H, W, c), dtype=np.uint8)
    # Created in this (unsorted) order on purpose.
    for c in ["zebra", "Apple", "mango"]:
        os.makedirs(os.path.join(FOLDER, c))
    os.makedirs(os.path.join(FOLDER, "zebra", "deep", "er"))
    os.makedirs(os.path.join(FOLDER, "Apple", "sub"))
    Image.fromarray(noise(3), "RGB").save(os.path.join(FOLDER, "zebra", "z.png"))
    Image.fromarray(noise(2), "LA").save(os.path.join(FOLDER, "zebra", "deep", "er", "y.png"))
    Image.fromarray(noise(3), "RGB").save(os.path.join(FOLDER, "zebra", "deep", "x.png"))
    Image.fromarray(noise(4), "RGBA").save(os.path.join(FOLDER, "Apple", "b.PNG"))
    Image.fromarray(noise(3), "RGB").save(os.path.join(FOLDER, "Apple", "a.png"))
    pal = Image.fromarray(noise(3), "RGB").quantize(colors=16)
    pal.save(os.path.join(FOLDER, "Apple", "sub", "c.png"))
    Image.fromarray(noise(1)[:, :, 0], "L").save(os.path.join(FOLDER, "mango", "g.png"))
    # A smooth JPEG, without chroma subsampling: decoders agree within a few levels.
    yy, xx = np.mgrid[0:H, 0:W]
    smooth = np.stack([xx * 30 + 20, yy * 40 + 10, 200 - xx * 10 - yy * 15], axis=-1).astype(np.uint8)
    Image.fromarray(smooth, "RGB").save(os.path.join(FOLDER, "mango", "j.jpg"), quality=95, subsampling=0)
    with open(os.path.join(FOLDER, "mango", "notes.txt"), "w") as f:
        f.write("not an image\n")


def run(tf):
    ds = datasets.ImageFolder(FOLDER, transform=tf)
    xs, ys = zip(*[ds[i] for i in range(len(ds))])
    return torch.stack(xs).numpy().astype(np.float32), np.array(ys, dtype=np.int64), ds


def main():
    write_images()
    norm, gnorm = transforms.Normalize(*IMAGENET), transforms.Normalize(*GRAY)
    T = transforms.Compose
    out = {}
    out["plain"], y, ds = run(T([transforms.ToTensor(), norm]))
    out["down"], _, _ = run(T([transforms.Resize((3, 4)), transforms.ToTensor(), norm]))
    out["up"], _, _ = run(T([transforms.Resize((11, 9)), transforms.ToTensor(), norm]))
    out["mixed"], _, _ = run(T([transforms.Resize((3, 9)), transforms.ToTensor(), norm]))
    out["gray"], _, _ = run(T([transforms.Grayscale(), transforms.Resize((4, 6)), transforms.ToTensor(), gnorm]))
    out["gray_plain"], _, _ = run(T([transforms.Grayscale(), transforms.ToTensor(), gnorm]))
    for name, mode in (("bicubic", transforms.InterpolationMode.BICUBIC),
                       ("nearest", transforms.InterpolationMode.NEAREST)):
        for case, size in (("down", (3, 4)), ("up", (11, 9)), ("mixed", (3, 9)), ("wide", (10, 3))):
            out[case + "_" + name], _, _ = run(T([transforms.Resize(size, interpolation=mode), transforms.ToTensor(),
                                                  norm]))
    out["y"] = y
    np.savez(os.path.join(HERE, "torchvision.npz"), **out)
    files = [os.path.relpath(p, FOLDER) for p, _ in ds.samples]
    meta = {"classes": ds.classes, "files": files, "jpeg": [f.lower().endswith((".jpg", ".jpeg")) for f in files]}
    with open(os.path.join(HERE, "torchvision.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print("wrote", FOLDER, "torchvision.npz", "torchvision.json")
    print(meta)


if __name__ == "__main__":
    main()
