"""Best-epoch selection and early stopping as the Hugging Face Trainer decides them, for train/best_test.go.

For each scripted sequence of validation metrics (one value per epoch), runs transformers' own
EarlyStoppingCallback.on_evaluate and Trainer._determine_best_metric (in the order the Trainer calls them:
the callback inside evaluate(), then the best-metric update) and records, per epoch, whether it is a new best
and whether training stops after it. `--save-best METRIC --early-stop N` must decide the same.

    .venv/bin/python models/make_best.py      # writes models/best/hf.json (a few KB)
"""
import json
import math
import os
import types

import transformers
from transformers import EarlyStoppingCallback, Trainer, TrainerControl, TrainerState

HERE = os.path.dirname(os.path.abspath(__file__))
NAN = float("nan")

CASES = [
    # name, metric, greater_is_better, patience (0: no early stopping), values per epoch
    ("loss_stop3", "val_loss", False, 3, [3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4]),
    ("loss_nostop", "val_loss", False, 0, [3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4]),
    ("loss_patience1", "val_loss", False, 1, [3, 1, 2, 0.5, 0.7, 0.6, 0.9, 0.4]),
    ("acc_tie", "val_accuracy", True, 2, [0.5, 0.7, 0.7, 0.6, 0.7, 0.7, 0.7, 0.7]),
    ("loss_nan", "val_loss", False, 0, [NAN, 2, NAN, 1, NAN, NAN, NAN, NAN]),
    ("loss_nan_stop2", "val_loss", False, 2, [NAN, 2, NAN, 1, NAN, NAN, NAN, NAN]),
    ("loss_nan_first_stop1", "val_loss", False, 1, [NAN, NAN, 3, 2, 2, 1, 1, 1]),
    ("loss_all_nan", "val_loss", False, 0, [NAN] * 8),
    ("f1_stop2", "val_macro_f1", True, 2, [0.1, 0.3, 0.3, 0.2, 0.4, 0.4, 0.35, 0.5]),
]


def run(metric, greater, patience, values):
    key = "eval_" + metric[len("val_"):]
    args = types.SimpleNamespace(metric_for_best_model=key, greater_is_better=greater, save_strategy="epoch",
                                 load_best_model_at_end=True)
    state = TrainerState()
    control = TrainerControl()
    cb = EarlyStoppingCallback(early_stopping_patience=patience) if patience > 0 else None
    trainer = types.SimpleNamespace(args=args, state=state)
    flags, best_epoch = "", 0
    for epoch, v in enumerate(values, 1):
        state.global_step = epoch
        metrics = {key: v}
        if cb is not None:
            cb.on_evaluate(args, state, control, metrics)
        new_best = Trainer._determine_best_metric(trainer, metrics, None)
        flags += "B" if new_best else "."
        if new_best:
            best_epoch = epoch
        if control.should_training_stop:
            break
    return {"flags": flags, "best_epoch": best_epoch, "epochs": len(flags)}


def main():
    out = {"transformers": transformers.__version__, "cases": []}
    for name, metric, greater, patience, values in CASES:
        r = run(metric, greater, patience, values)
        out["cases"].append(dict(name=name, metric=metric, patience=patience,
                                 values=[None if math.isnan(v) else v for v in values], **r))
    os.makedirs(os.path.join(HERE, "best"), exist_ok=True)
    with open(os.path.join(HERE, "best", "hf.json"), "w") as f:
        json.dump(out, f, indent=1)
    for c in out["cases"]:
        print(c["name"], c["flags"], "best", c["best_epoch"])


if __name__ == "__main__":
    main()
