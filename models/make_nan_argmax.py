#!/usr/bin/env python3
"""Fixtures of predictions from scores with NaN and infinities: torch.argmax counts a NaN as the largest
value (the first NaN wins), and among equal largest values takes the first.

Run with the repository's reference virtual environment (torch 2.14.1, onnx, onnxruntime):

    .venv/bin/python models/make_nan_argmax.py     # writes models/nan_argmax/, a few seconds

It writes models/nan_argmax/:

    scores.onnx    a model whose output "logits" [batch, 7] is its input "input" [batch, 7]
                   (nn.Flatten, torch.onnx.export(dynamo=False), opset 17, dynamic batch)
    data.npz       x [N, 7] float32 scores: rows made by hand to hold NaN first, last, twice,
                   everywhere, beside +inf and -inf, and ties; then seeded random rows with NaN, +inf
                   and -inf scattered in them; y [N] int64 seeded labels
    expected.npz   argmax [N] int64: torch.argmax(x, dim=1); top5 [N] int64: 1 where y is among the
                   first five of torch.sort(x, dim=1, descending=True, stable=True) (NaN above every
                   number, ties to the lower class index), else 0; logits: ONNX Runtime's output of
                   scores.onnx on x (x itself, NaN included)
"""
import os
import warnings

import numpy as np
import onnxruntime as ort
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "nan_argmax")
K = 7
warnings.filterwarnings("ignore")


def main():
    os.makedirs(OUT, exist_ok=True)
    nan, inf = np.nan, np.inf
    rows = [
        [0.1, -0.5, 0.3, 0.2, 0.9, -1.0, 0.0],  # no NaN
        [0.1, -0.5, 0.3, nan, 0.2, 0.9, 0.0],  # one NaN before the largest number
        [0.1, -0.5, nan, 0.3, 0.2, nan, 0.9],  # two NaNs
        [nan, -0.5, 0.3, 0.2, 0.9, -1.0, 0.0],  # NaN first
        [nan] * K,  # only NaN
        [0.1, -0.5, 0.3, 0.2, 0.9, -1.0, nan],  # NaN last
        [0.1, inf, 0.3, 0.2, nan, -1.0, 0.0],  # +inf, then NaN
        [-inf, -inf, nan, -inf, -inf, -inf, -inf],  # NaN among -inf
        [0.1, 0.9, 0.3, 0.9, 0.2, -1.0, 0.0],  # a tie of the largest
        [0.1, -0.5, inf, 0.2, 0.9, inf, 0.0],  # two +inf
        [-inf] * K,  # only -inf
        [inf, nan, 0.3, 0.2, 0.9, -1.0, 0.0],  # +inf first, then NaN
    ]
    rng = np.random.default_rng(45)
    rand = rng.standard_normal((36, K)).astype(np.float32)
    u = rng.random((36, K))
    rand[u < 0.15] = nan
    rand[(u >= 0.15) & (u < 0.2)] = inf
    rand[(u >= 0.2) & (u < 0.25)] = -inf
    x = np.concatenate([np.array(rows, dtype=np.float32), rand])
    y = rng.integers(0, K, len(x)).astype(np.int64)

    model = nn.Flatten().eval()
    path = os.path.join(OUT, "scores.onnx")
    torch.onnx.export(model, (torch.zeros(2, K),), path, dynamo=False, opset_version=17, input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    logits = sess.run(None, {"input": x})[0]
    assert np.array_equal(logits, x, equal_nan=True)
    argmax = torch.argmax(torch.from_numpy(x), dim=1).numpy().astype(np.int64)
    order = torch.sort(torch.from_numpy(x), dim=1, descending=True, stable=True).indices.numpy()
    # The sort's first is argmax's pick: the two agree on NaN and on ties.
    assert np.array_equal(order[:, 0], argmax)
    top5 = np.array([int(y[i] in order[i, :5]) for i in range(len(x))], dtype=np.int64)
    np.savez(os.path.join(OUT, "data.npz"), x=x, y=y)
    np.savez(os.path.join(OUT, "expected.npz"), argmax=argmax, top5=top5, logits=logits)


if __name__ == "__main__":
    main()
