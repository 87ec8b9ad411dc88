#!/usr/bin/env python3
"""Sequence models for timing the training step (issue 15): an LSTM classifier and a BERT-base-sized encoder,
exported for fine-tuning, and PyTorch's own time for the same step.

Run with the repository's reference virtual environment (scripts/reference-tools.sh):

    .venv/bin/python models/make_perf_seq.py export            # writes .cache/perf/ (about 450 MB, a minute)
    .venv/bin/python models/make_perf_seq.py time lstm 1       # PyTorch's step, 1 thread; also: bert, 2

export writes into .cache/perf/ (gitignored; the files stay out of the repository):

    lstm_b32.onnx   Embedding(10000, 128) -> LSTM(128, 256, num_layers=2, batch_first=True) -> Linear(256, 10)
                    on the last step; input_ids [32, 64] int64
    bert_b8.onnx    transformers BertForSequenceClassification(BertConfig(hidden 768, 12 layers, 12 heads,
                    intermediate 3072, num_labels 2)), random weights, dropout p=0 (hidden and attention);
                    input_ids [8, 128] int64 only (no attention_mask: every token attends to every token)

Both with torch.onnx.export(model.eval(), ..., dynamo=False, training=TrainingMode.PRESERVE,
do_constant_folding=False), input "input", output "logits", fixed shapes.

time builds the same module from the same seed and times what onnxtune's Trainer.Step does: train() mode,
SGD lr 0.001 momentum 0.9 weight decay 1e-4 with the head (fc.* / classifier.*) at lr 0.01, cross-entropy on
labels i % classes; a step is zero_grad + forward + backward + step + loss.item(). Dropout is p=0 on both
sides (nothing random, so both sides do the same work each step). It prints one line of JSON: the median and
minimum wall time of the steady-state steps in ms, and the median CPU time (process_time: every thread's).
"""

import copy
import json
import os
import sys
import time
import warnings

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", ".cache", "perf")

# name: (batch, sequence, vocabulary, classes, head parameters, warm-up steps, timed steps)
SPECS = {
    "lstm": (32, 64, 10000, 10, "fc.", 3, 20),
    "bert": (8, 128, 30522, 2, "classifier.", 2, 8),
}


class LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10000, 128)
        self.lstm = nn.LSTM(128, 256, num_layers=2, batch_first=True)
        self.fc = nn.Linear(256, 10)

    def forward(self, x):
        out, _ = self.lstm(self.emb(x))
        return self.fc(out[:, -1])


class Bert(nn.Module):
    """BertForSequenceClassification returning the logits tensor only."""

    def __init__(self):
        super().__init__()
        import transformers
        cfg = transformers.BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                                      intermediate_size=3072, num_labels=2, hidden_dropout_prob=0.0,
                                      attention_probs_dropout_prob=0.0)
        self.bert = transformers.BertForSequenceClassification(cfg)

    def forward(self, x):
        return self.bert(input_ids=x).logits


def build(name):
    torch.manual_seed(15)
    return LSTMClassifier() if name == "lstm" else Bert()


def inputs(name):
    batch, seq, vocab, classes = SPECS[name][:4]
    g = torch.Generator().manual_seed(1)
    x = torch.randint(0, vocab, (batch, seq), generator=g, dtype=torch.int64)
    y = torch.arange(batch, dtype=torch.int64) % classes
    return x, y


def export():
    os.makedirs(OUT, exist_ok=True)
    for name in SPECS:
        model, (x, _) = build(name), inputs(name)
        path = os.path.join(OUT, "%s_b%d.onnx" % (name, SPECS[name][0]))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(copy.deepcopy(model).eval(), (x,), path, input_names=["input"],
                              output_names=["logits"], dynamo=False, training=torch.onnx.TrainingMode.PRESERVE,
                              do_constant_folding=False)
        print("wrote %s (%.1f MB)" % (path, os.path.getsize(path) / 1e6))


def time_steps(name, threads):
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    _, _, _, _, head, warmup, steps = SPECS[name]
    model, (x, y) = build(name), inputs(name)
    model.train()
    base = [p for n, p in model.named_parameters() if head not in n]
    top = [p for n, p in model.named_parameters() if head in n]
    opt = torch.optim.SGD([{"params": base}, {"params": top, "lr": 0.01}], lr=0.001, momentum=0.9,
                          weight_decay=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()

    for _ in range(1 + warmup):
        step()
    times, cpu = [], []
    for _ in range(steps):
        t, c = time.perf_counter(), time.process_time()
        step()
        times.append((time.perf_counter() - t) * 1e3)
        cpu.append((time.process_time() - c) * 1e3)
    times.sort()
    cpu.sort()
    print(json.dumps({"model": name, "threads": threads, "torch": torch.__version__,
                      "median_ms": times[len(times) // 2], "min_ms": times[0],
                      "cpu_median_ms": cpu[len(cpu) // 2], "times_ms": times}))


def main():
    args = sys.argv[1:]
    if args == ["export"]:
        export()
    elif len(args) == 3 and args[0] == "time" and args[1] in SPECS and args[2].isdigit():
        time_steps(args[1], int(args[2]))
    else:
        sys.exit("usage: make_perf_seq.py export | time lstm|bert THREADS")


if __name__ == "__main__":
    main()
