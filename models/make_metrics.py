#!/usr/bin/env python3
"""Fixtures of train.Evaluate and 'onnxtune eval': ONNX Runtime's predictions on a small data set and
the metrics scikit-learn computes from them.

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs torch,
onnx, onnxruntime and scikit-learn into .venv):

    bash scripts/reference-tools.sh
    .venv/bin/python models/make_metrics.py      # writes models/metrics/, a few seconds

It writes models/metrics/:

    classifier.onnx   a seeded MLP (10 -> 16 -> ReLU -> 7 classes), torch.onnx.export(dynamo=False), input
                      "input" with a dynamic batch, output "logits"
    data.npz          x [60, 10] float32, y [60] int64: labels drawn so that the model is right about half
                      of the time; class 6 has no example (recall 0 by convention) and the classes the
                      model never predicts get precision 0
    regressor.onnx    a seeded linear layer 10 -> 3 (same export), for the mse loss
    targets.npz       x [60, 10] float32, y [60, 3] float32
    expected.json     from ONNX Runtime's outputs on all 60 examples at once:
                        classifier: n, loss (numpy float64: mean of logsumexp(z) - z[y]),
                        accuracy (sklearn accuracy_score), top5 (sklearn top_k_accuracy_score, k=5,
                        labels=range(7)), precision, recall, f1, support
                        (precision_recall_fscore_support, labels=range(7), zero_division=0),
                        macro_f1 (f1_score average="macro" with sklearn's default labels: the classes
                        present in y or the predictions), confusion (confusion_matrix, labels=range(7):
                        rows true, columns predicted)
                      macro_cases: small lists of labels and predictions with the same figures
                        regressor: n, loss (numpy float64 mean of (out - y)^2 over every element)
                      and the versions of the tools.

Seeded (torch.manual_seed, numpy default_rng); re-running with the same versions rewrites identical
expected.json and data files.
"""

import json
import os

import numpy as np
import onnx
import onnxruntime as ort
import sklearn
import torch
import torch.nn as nn
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support,
                             top_k_accuracy_score)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metrics")
N, D, K = 60, 10, 7


def export(model, path, example):
    torch.onnx.export(model, (example,), path, dynamo=False, input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})


def ort_run(path, x):
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {"input": x})[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(14)
    rng = np.random.default_rng(14)
    torch.set_num_threads(1)

    clf = nn.Sequential(nn.Linear(D, 16), nn.ReLU(), nn.Linear(16, K)).eval()
    x = rng.standard_normal((N, D)).astype(np.float32)
    cpath = os.path.join(OUT, "classifier.onnx")
    export(clf, cpath, torch.from_numpy(x[:2]))
    z = ort_run(cpath, x)
    pred = z.argmax(1)
    # Right about half of the time; otherwise a random class below 6 (class 6 has no example).
    y = np.where((rng.random(N) < 0.5) & (pred < 6), pred, rng.integers(0, 6, N)).astype(np.int64)
    np.savez(os.path.join(OUT, "data.npz"), x=x, y=y)

    labels = list(range(K))
    z64 = z.astype(np.float64)
    m = z64.max(1, keepdims=True)
    lse = (m[:, 0] + np.log(np.exp(z64 - m).sum(1)))
    loss = float(np.mean(lse - z64[np.arange(N), y]))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    classifier = {
        "n": N,
        "loss": loss,
        "accuracy": float(accuracy_score(y, pred)),
        "top5": float(top_k_accuracy_score(y, z, k=5, labels=labels)),
        "precision": p.tolist(), "recall": r.tolist(), "f1": f.tolist(), "support": s.tolist(),
        "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
        "confusion": confusion_matrix(y, pred, labels=labels).tolist(),
    }

    # Small cases of labels and predictions over k classes: the per-class figures over every class and
    # f1_score(average="macro")'s default mean, over the classes present in y_true or y_pred.
    cases = []
    for name, k, yt, yp in [
            ("perfect on 2 of 3 classes", 3, [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]),
            ("a class predicted, never true", 4, [0, 0, 1, 1], [0, 2, 1, 1]),
            ("a class true, never predicted", 3, [0, 1, 2, 2], [0, 1, 1, 1]),
            ("every class present", 3, [0, 1, 2, 2, 1, 0], [0, 2, 2, 1, 1, 0])]:
        cp, cr, cf, cs = precision_recall_fscore_support(yt, yp, labels=list(range(k)), zero_division=0)
        cases.append({"name": name, "classes": k, "y_true": yt, "y_pred": yp, "precision": cp.tolist(),
                      "recall": cr.tolist(), "f1": cf.tolist(), "support": cs.tolist(),
                      "macro_f1": float(f1_score(yt, yp, average="macro", zero_division=0))})

    reg = nn.Linear(D, 3).eval()
    rpath = os.path.join(OUT, "regressor.onnx")
    export(reg, rpath, torch.from_numpy(x[:2]))
    out = ort_run(rpath, x)
    t = rng.standard_normal((N, 3)).astype(np.float32)
    np.savez(os.path.join(OUT, "targets.npz"), x=x, y=t)
    regressor = {"n": N, "loss": float(np.mean((out.astype(np.float64) - t.astype(np.float64)) ** 2))}

    expected = {
        "versions": {"torch": torch.__version__, "onnx": onnx.__version__, "onnxruntime": ort.__version__,
                     "sklearn": sklearn.__version__, "numpy": np.__version__},
        "classifier": classifier,
        "macro_cases": cases,
        "regressor": regressor,
    }
    with open(os.path.join(OUT, "expected.json"), "w") as fh:
        json.dump(expected, fh, indent=1)
        fh.write("\n")
    print("accuracy", classifier["accuracy"], "top5", classifier["top5"], "macro_f1", classifier["macro_f1"],
          "predicted classes", sorted(set(pred.tolist())), "support", classifier["support"])


if __name__ == "__main__":
    main()
