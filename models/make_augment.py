#!/usr/bin/env python3
"""Fixtures of image preprocessing (issue 14, points 1 and 8): torchvision's evaluation transform, the pieces of
its training augmentation, ONNX Runtime's accuracy on torchvision-prepared tensors, and three SGD steps on
horizontally flipped images.

Run with the repository's reference virtual environment (scripts/reference-tools.sh):

    .venv/bin/python models/make_augment.py        # writes models/augment/, a few seconds

Writes models/augment/:

    folder/CLASS/NAME.png   3 classes (cat, dog, eel) of 8 RGB images each, of mixed sizes (5 to 19 pixels a side),
                            smooth gradients plus noise, seeded
    files.json              the images in torchvision's ImageFolder order, the classes, and the cases below
    eval.npz                per case "eval_<name>": timm's evaluation transform, timm.data.create_transform(
                            input_size=(3, H, W), crop_pct, interpolation="bilinear", ImageNet mean and std), on
                            ImageFolder(folder)'s images, stacked [N, 3, H, W] float32; y the labels. For a
                            square size it is Resize(int(size / crop_pct)), CenterCrop(size), ToTensor, Normalize,
                            checked to equal torchvision's transforms.v2 and v1 compositions of those on PIL
                            images; for H != W, timm's ResizeKeepRatio((int(H/crop_pct), int(W/crop_pct))) then
                            CenterCrop((H, W))
    crop.npz                per image k: "box_k" (top, left, height, width) drawn by RandomResizedCrop.get_params
                            (scale (0.08, 1), ratio (3/4, 4/3), torch.manual_seed(k)) and "crop_k", uint8 [3, 7, 7]
                            of F.resized_crop(img, *box, [7, 7]) (bilinear, antialias); "fallback" [M, 8]: rows of
                            (height, width, ratio min, ratio max, top, left, h, w) from get_params with a scale
                            no attempt can meet (the fallback center crop)
    jitter.npz              per image k: "order_k" (torch.randperm(4), ColorJitter's fn_idx), "factors_k"
                            (brightness, contrast, saturation drawn by ColorJitter.get_params with 0.4, float64)
                            and "jitter_k" uint8 [3, H, W]: the adjustments applied in that order to the PIL image
    classifier.onnx         a seeded Conv(3->4, 3x3, stride 2) + ReLU + Flatten + Linear(36->3) on 3x7x7, exported
                            with dynamo=False, eval mode, dynamic batch, input "input", output "logits"
    ort.json                ONNX Runtime's predictions and accuracy on eval_crop875 (size 7, crop_pct 0.875)
    hflip_sgd.npz           the classifier's parameters after 3 steps of torch.optim.SGD (lr 0.1, momentum 0.9,
                            weight decay 1e-4) with cross-entropy, batches of 8 in folder order, on the images of
                            eval_crop100 flipped left to right (RandomHorizontalFlip(p=1))
"""

import json
import os
import sys

import numpy as np
import onnxruntime as ort
import timm
import timm.data
import torch
import torch.nn as nn
import torchvision
import PIL
from PIL import Image
from torchvision import transforms as T1
from torchvision.transforms import v2 as T2
from torchvision.transforms import functional as F1

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402

OUT = os.path.join(HERE, "augment")
FOLDER = os.path.join(OUT, "folder")
MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
SIZE = 7
CLASSES = ["cat", "dog", "eel"]
# (case name, (height, width), crop_pct): crop_pct 1 keeps an image at the size; 1.25 pads (Resize(5),
# CenterCrop(7)); the last two are not square (timm's ResizeKeepRatio).
CASES = [("crop100", (SIZE, SIZE), 1.0), ("crop875", (SIZE, SIZE), 0.875), ("crop125", (SIZE, SIZE), 1.25),
         ("crop90_s9", (9, 9), 0.9), ("crop875_7x9", (7, 9), 0.875), ("crop100_8x5", (8, 5), 1.0)]


def make_images():
    g = np.random.default_rng(14)
    sizes = [(5, 9), (19, 6), (7, 7), (12, 10), (9, 16), (6, 6), (15, 13), (8, 11)]  # (height, width)
    for ci, cls in enumerate(CLASSES):
        os.makedirs(os.path.join(FOLDER, cls), exist_ok=True)
        for k, (h, w) in enumerate(sizes):
            yy, xx = np.mgrid[0:h, 0:w]
            base = np.stack([
                255 * xx / max(w - 1, 1),
                255 * yy / max(h - 1, 1),
                np.full((h, w), 60.0 + 70 * ci),
            ], axis=-1)
            img = np.clip(base * (0.5 + 0.5 * ((k + ci) % 2)) + g.normal(0, 40, (h, w, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(img, "RGB").save(os.path.join(FOLDER, cls, "img%d.png" % k), optimize=True)


def eval_transform(T, size, pct):
    return T.Compose([T.Resize(int(size / pct)), T.CenterCrop(size)])


def eval_cases(ds):
    out, y = {}, np.array([t for _, t in ds.samples], dtype=np.int64)
    for name, (h, w), pct in CASES:
        timm_t = timm.data.create_transform(input_size=(3, h, w), is_training=False, interpolation="bilinear",
                                            crop_pct=pct, mean=MEAN, std=STD)
        xs = []
        for path, _ in ds.samples:
            img = Image.open(path).convert("RGB")
            t = timm_t(img)
            if h == w:
                a = eval_transform(T2, h, pct)(img)
                b = eval_transform(T1, h, pct)(img)
                assert np.array_equal(np.asarray(a), np.asarray(b)), "transforms v1 and v2 differ on " + path
                tv = T1.Normalize(MEAN, STD)(T1.ToTensor()(a))
                assert torch.equal(t, tv), "timm and torchvision differ on " + path
            xs.append(t.numpy())
        out["eval_" + name] = np.stack(xs).astype(np.float32)
    out["y"] = y
    return out


def crop_cases(ds):
    out = {}
    rrc = T1.RandomResizedCrop(SIZE)
    for k, (path, _) in enumerate(ds.samples):
        img = Image.open(path).convert("RGB")
        torch.manual_seed(k)
        box = rrc.get_params(img, (0.08, 1.0), (3 / 4, 4 / 3))
        out["box_%d" % k] = np.array(box, dtype=np.int64)
        c = F1.resized_crop(img, *box, [SIZE, SIZE], interpolation=T1.InterpolationMode.BILINEAR, antialias=True)
        out["crop_%d" % k] = np.asarray(c).transpose(2, 0, 1).copy()
    rows = []
    for h, w in [(10, 10), (5, 20), (20, 5), (7, 9), (9, 7), (3, 100)]:
        for ratio in [(3 / 4, 4 / 3), (0.5, 2.0), (1.0, 1.0), (1.5, 3.0)]:
            img = Image.new("RGB", (w, h))
            i, j, bh, bw = T1.RandomResizedCrop.get_params(img, [50.0, 60.0], list(ratio))
            rows.append([h, w, ratio[0], ratio[1], i, j, bh, bw])
    out["fallback"] = np.array(rows, dtype=np.float64)
    return out


def jitter_cases(ds):
    out = {}
    cj = T1.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4)
    for k, (path, _) in enumerate(ds.samples):
        img = Image.open(path).convert("RGB")
        torch.manual_seed(100 + k)
        order, b, c, s, h = cj.get_params(cj.brightness, cj.contrast, cj.saturation, cj.hue)
        assert h is None
        for fn in order.tolist():
            if fn == 0:
                img = F1.adjust_brightness(img, b)
            elif fn == 1:
                img = F1.adjust_contrast(img, c)
            elif fn == 2:
                img = F1.adjust_saturation(img, s)
        out["order_%d" % k] = order.numpy().astype(np.int64)
        out["factors_%d" % k] = np.array([b, c, s], dtype=np.float64)
        out["jitter_%d" % k] = np.asarray(img).transpose(2, 0, 1).copy()
    return out


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, stride=2)
        self.fc = nn.Linear(4 * 3 * 3, len(CLASSES))

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


def main():
    os.makedirs(OUT, exist_ok=True)
    make_images()
    ds = torchvision.datasets.ImageFolder(FOLDER)
    files = [os.path.relpath(p, FOLDER) for p, _ in ds.samples]
    ev = eval_cases(ds)
    mm.save_npz(os.path.join(OUT, "eval.npz"), **ev)
    mm.save_npz(os.path.join(OUT, "crop.npz"), **crop_cases(ds))
    mm.save_npz(os.path.join(OUT, "jitter.npz"), **jitter_cases(ds))

    mm.seed(14)
    model = Classifier().eval()
    path = os.path.join(OUT, "classifier.onnx")
    torch.onnx.export(model, torch.zeros(2, 3, SIZE, SIZE), path, dynamo=False, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input": ev["eval_crop875"]})[0]
    pred = logits.argmax(1)
    acc = float((pred == ev["y"]).mean())

    # Three SGD steps on the flipped images of eval_crop100, in folder order.
    x = torch.from_numpy(ev["eval_crop100"]).flip(-1)
    y = torch.from_numpy(ev["y"])
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    for step in range(3):
        xb, yb = x[8 * step:8 * (step + 1)], y[8 * step:8 * (step + 1)]
        opt.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        opt.step()
    mm.save_npz(os.path.join(OUT, "hflip_sgd.npz"),
                **{k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()})

    mm.write_json(os.path.join(OUT, "files.json"), {
        "classes": ds.classes, "files": files,
        "cases": [{"name": n, "size": list(s), "crop_pct": p} for n, s, p in CASES],
        "torch": torch.__version__, "torchvision": torchvision.__version__, "timm": timm.__version__,
        "pillow": PIL.__version__,
    })
    mm.write_json(os.path.join(OUT, "ort.json"), {
        "case": "eval_crop875", "size": SIZE, "crop_pct": 0.875,
        "predictions": pred.tolist(), "accuracy": acc, "onnxruntime": ort.__version__,
    })
    print("wrote", OUT, "accuracy", acc)


if __name__ == "__main__":
    main()
