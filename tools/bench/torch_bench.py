#!/usr/bin/env python3
"""Reference side of the onnxtune benchmark harness (tools/bench, docs/performance.md).

Run by the Go driver with the repository's venv (.venv, made by scripts/reference-tools.sh: today's
PyTorch, torchvision, onnx, onnxruntime and transformers):

    .venv/bin/python tools/bench/torch_bench.py check
    .venv/bin/python tools/bench/torch_bench.py fixtures --dir .cache/bench --only resnet,encoder
    .venv/bin/python tools/bench/torch_bench.py train --model lenet --batch 64 --models models --dir .cache/bench
    .venv/bin/python tools/bench/torch_bench.py scaling --batches 8,16,32,64 --models models
    .venv/bin/python tools/bench/torch_bench.py infer --model resnet --batch 16 --dir .cache/bench
    .venv/bin/python tools/bench/torch_bench.py io --file .cache/bench/resnet_train.onnx
    .venv/bin/python tools/bench/torch_bench.py loop --model resnet --data .cache/bench/resnet_cli.npz --steps 13 \\
        --out /tmp/out.pt --metrics /tmp/steps.jsonl

`check` only imports the packages and prints their versions and where onnxruntime's shared library
is; `fixtures` writes the models both sides use (idempotent) and prints one JSON line naming them.
`loop` is the reference of the whole-CLI workload: a plain PyTorch training script on an .npz file,
timed from outside by the driver like `onnxtune train`.
Every other command is one measurement in its own process (so its peak RSS is its own): it prints
progress nowhere and exactly one JSON line on stdout, in the format tools/bench/worker.go documents:
start-up (from --t0, the driver's clock when it started this process, to the first step done), the
steady-state step times after a warm-up, and the peak resident set size (VmHWM). Training and
inference run with 1 and 2 threads, their steps interleaved; the faster (by median) is the result,
both are listed under "variants".

Exit status 3 with a one-line message on stderr means a missing package.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time


def missing(e):
    """A missing package: one line naming what to install (the driver prints it as it is)."""
    sys.stderr.write("torch_bench: %s; install the reference tools with: bash scripts/reference-tools.sh "
                     "(the repository's .venv)\n" % e)
    sys.exit(3)


try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as e:
    missing(e)

# The LeNet the sample model was made from: models/make_models.py defines it
# (importing that script runs nothing; its work is under __main__).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
from make_models import MnistLeNet  # noqa: E402

FIXTURE_VERSION = 2
SEED = 7
INPUT_SEED = 1
THREADS = (2, 1)

# Workload models: head (the parameter prefix in the second group), classes, one example's input
# shape, vocabulary (token inputs) and batch (token models are exported at that batch: their
# exports fix every dimension). tools/bench/worker.go keeps the same table.
SPEC = {
    "lenet": dict(head="fc3.", classes=10, shape=(1, 28, 28), batch=64),
    "resnet": dict(head="fc.", classes=1000, shape=(3, 64, 64), batch=16),
    "mobilenet": dict(head="classifier.", classes=1000, shape=(3, 64, 64), batch=16),
    "effnet": dict(head="classifier.", classes=1000, shape=(3, 64, 64), batch=16),
    "encoder": dict(head="classifier.", classes=2, shape=(128,), vocab=30522, batch=8),
    "lstm": dict(head="fc.", classes=10, shape=(64,), vocab=10000, batch=32),
}
# Models exported for inference too (Conv and BatchNorm fused).
EVAL = ("resnet", "mobilenet")


def set_threads(n=2):
    torch.set_num_threads(n)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before any inter-op work started
        pass


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------


class LSTMClassifier(nn.Module):
    """Token classifier: Embedding(10000, 128) -> LSTM(128, 256, 2 layers) -> Linear on the last step."""

    def __init__(self, vocab=10000, embed=128, hidden=256, layers=2, classes=10):
        super().__init__()
        self.emb = nn.Embedding(vocab, embed)
        self.lstm = nn.LSTM(embed, hidden, num_layers=layers, batch_first=True)
        self.fc = nn.Linear(hidden, classes)

    def forward(self, x):
        out, _ = self.lstm(self.emb(x))
        return self.fc(out[:, -1])


def encoder_config():
    from transformers import BertConfig
    # BERT-base's sizes; dropout off on both sides (the eval export has no Dropout nodes).
    c = BertConfig(vocab_size=SPEC["encoder"]["vocab"], hidden_size=768, num_hidden_layers=12,
                   num_attention_heads=12, intermediate_size=3072, max_position_embeddings=512,
                   hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=2)
    c._attn_implementation = "eager"  # plain MatMul/Softmax attention in the export
    return c


def encoder():
    """BertForSequenceClassification with random weights, taking input_ids only and returning
    the logits (state_dict names as the Hugging Face model's: bert.*, classifier.*)."""
    from transformers import BertForSequenceClassification

    class Encoder(BertForSequenceClassification):
        def forward(self, input_ids):
            return super().forward(input_ids=input_ids).logits

    return Encoder(encoder_config())


def architecture(name):
    """The untrained module of a workload (dropout off: the exported eval graph has none)."""
    import torchvision.models as tvm
    if name == "lenet":
        return MnistLeNet(10)
    if name == "resnet":
        return tvm.resnet18(weights=None)
    if name == "mobilenet":
        return tvm.mobilenet_v2(weights=None, dropout=0.0)
    if name == "effnet":
        return tvm.efficientnet_b0(weights=None, dropout=0.0, stochastic_depth_prob=0.0)
    if name == "encoder":
        return encoder()
    if name == "lstm":
        return LSTMClassifier(vocab=SPEC["lstm"]["vocab"], classes=SPEC["lstm"]["classes"])
    raise ValueError(name)


def fresh(name):
    """The workload's module, seeded, with no two equal tensors: a tensor whose entries are all
    equal (BatchNorm and LayerNorm weights, zero biases) gets small random values, and BatchNorm
    layers get running statistics from two train-mode passes, so the exporter ties no
    initializers (as in a pretrained model)."""
    torch.manual_seed(SEED)
    m = architecture(name)
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for _, p in m.named_parameters():
            if p.numel() > 1 and bool((p == p.flatten()[0]).all()):
                p.copy_(p + 0.1 * torch.randn(p.shape, generator=g))
        if any(isinstance(mod, nn.BatchNorm2d) for mod in m.modules()):
            m.train()
            for _ in range(2):
                m(torch.randn((8,) + SPEC[name]["shape"], generator=g))
    return m.eval()


def lenet(models_dir):
    """MnistLeNet with the weights of models/mnist_lenet_10.onnx (its initializers carry the
    state_dict names; load_state_dict is strict, so a mismatch is an error)."""
    m = MnistLeNet(10)
    proto = onnx.load(os.path.join(models_dir, "mnist_lenet_10.onnx"))
    sd = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in proto.graph.initializer}
    m.load_state_dict(sd, strict=True)
    return m


def build(name, args):
    """The workload's module with the weights onnxtune starts from."""
    if name == "lenet":
        return lenet(args.models)
    m = architecture(name)
    m.load_state_dict(torch.load(os.path.join(args.dir, name + ".pt")), strict=True)
    return m


def inputs(name, batch):
    """A batch: standard normal images, or token ids uniform in the vocabulary; labels i % classes."""
    s = SPEC[name]
    g = torch.Generator().manual_seed(INPUT_SEED)
    if "vocab" in s:
        x = torch.randint(0, s["vocab"], (batch,) + s["shape"], generator=g, dtype=torch.int64)
    else:
        x = torch.randn((batch,) + s["shape"], generator=g)
    y = torch.arange(batch, dtype=torch.int64) % s["classes"]
    return x, y


def optimizer(name, model):
    """SGD lr 0.001, momentum 0.9, weight decay 1e-4; the head at lr 0.01."""
    head = SPEC[name]["head"]
    hp = [p for n, p in model.named_parameters() if n.startswith(head)]
    base = [p for n, p in model.named_parameters() if not n.startswith(head)]
    if not hp:
        raise SystemExit("torch_bench: no parameter of %s starts with %r" % (name, head))
    return torch.optim.SGD([{"params": base}, {"params": hp, "lr": 0.01}], 0.001,
                           momentum=0.9, weight_decay=1e-4)


# ----------------------------------------------------------------------------------------------
# Measurement
# ----------------------------------------------------------------------------------------------


def status_kb(key):
    """A kB field of /proc/self/status (VmHWM, VmRSS); ru_maxrss where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def since_ms(t0_ns):
    return (time.time_ns() - t0_ns) / 1e6


def timed(fns, warmup, steps, budget):
    """Runs each of fns warmup times, then all of them in turn up to steps times each (at least
    3, at most budget seconds when budget > 0) and returns each one's steady-state times in ms."""
    for fn in fns:
        for _ in range(warmup):
            fn()
    times = [[] for _ in fns]
    start = time.perf_counter()
    while len(times[0]) < steps:
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            times[i].append((time.perf_counter() - t) * 1e3)
        if budget > 0 and time.perf_counter() - start > budget and len(times[0]) >= 3:
            break
    return times


def summary(times):
    return {"times_ms": [round(t, 4) for t in times], "median_ms": statistics.median(times), "min_ms": min(times)}


def with_threads(fn, n):
    def run():
        torch.set_num_threads(n)
        return fn()
    return run


def threaded(out, fn, args):
    """Times fn with 1 and 2 threads, steps interleaved; the faster by median is the result."""
    times = timed([with_threads(fn, n) for n in THREADS], args.warmup, args.steps, args.budget)
    variants = []
    for n, ts in zip(THREADS, times):
        v = {"threads": n}
        v.update(summary(ts))
        variants.append(v)
    out.update({k: v for k, v in min(variants, key=lambda v: v["median_ms"]).items() if k != "threads"})
    out["threads"] = min(variants, key=lambda v: v["median_ms"])["threads"]
    out["variants"] = variants


def versions():
    vs = ["torch " + torch.__version__.split("+")[0], "onnx " + onnx.__version__]
    for mod in ("torchvision", "transformers", "onnxruntime"):
        if mod in sys.modules:
            vs.append("%s %s" % (mod, sys.modules[mod].__version__.split("+")[0]))
    return ", ".join(vs)


def emit(out):
    out["peak_rss_kb"] = status_kb("VmHWM")
    out["version"] = versions()
    # The kernels ATen chose (AVX512, AVX2, ...): ATEN_CPU_CAPABILITY lowers
    # it; the driver checks it when it asked for AVX2 only.
    out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()


def train_step(model, opt, x, y):
    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def cmd_train(args):
    base = status_kb("VmRSS")
    model = build(args.model, args).train()
    opt = optimizer(args.model, model)
    x, y = inputs(args.model, args.batch)
    step = train_step(model, opt, x, y)
    step()
    startup = since_ms(args.t0)
    out = {"impl": "pytorch", "workload": args.model, "batch": args.batch, "startup_ms": startup,
           "warmup": args.warmup, "base_rss_kb": base}
    threaded(out, step, args)
    emit(out)


def cmd_scaling(args):
    """LeNet training steps at several batch sizes, interleaved (one step of each in turn) so
    that a slow spell of the machine hits every batch size alike; 2 threads."""
    base = status_kb("VmRSS")
    batches = [int(b) for b in args.batches.split(",")]
    model = lenet(args.models).train()
    opt = optimizer("lenet", model)
    steps = []
    for b in batches:
        x, y = inputs("lenet", b)
        steps.append(train_step(model, opt, x, y))
    steps[0]()
    startup = since_ms(args.t0)
    times = timed(steps, args.warmup, args.steps, args.budget)
    points = []
    for b, ts in zip(batches, times):
        p = {"batch": b}
        p.update(summary(ts))
        points.append(p)
    emit({"impl": "pytorch", "workload": "scaling", "startup_ms": startup, "warmup": args.warmup,
          "base_rss_kb": base, "points": points, **summary(times[-1])})


def cmd_infer(args):
    base = status_kb("VmRSS")
    model = build(args.model, args).eval()
    x, _ = inputs(args.model, args.batch)

    def run():
        with torch.inference_mode():
            model(x)
    run()
    startup = since_ms(args.t0)
    out = {"impl": "pytorch", "workload": args.workload, "batch": args.batch, "startup_ms": startup,
           "warmup": args.warmup, "base_rss_kb": base}
    threaded(out, run, args)
    emit(out)


def cmd_io(args):
    """onnx.load plus onnx.save_model of one file: the reference for importer.Load plus
    export.Write (both read a file and write a file, neither syncs it to disk)."""
    base = status_kb("VmRSS")
    out_path = os.path.join(args.tmp, "io_python.onnx")
    os.makedirs(args.tmp, exist_ok=True)

    def run():
        onnx.save_model(onnx.load(args.file), out_path)
    run()
    startup = since_ms(args.t0)
    out = {"impl": "onnx-python", "workload": "io", "startup_ms": startup, "warmup": args.warmup,
           "base_rss_kb": base, "bytes": os.path.getsize(args.file)}
    out.update(summary(timed([run], args.warmup, args.steps, args.budget)[0]))
    os.remove(out_path)
    emit(out)


def cmd_loop(args):
    """The plain PyTorch script a user would write instead of `onnxtune train MODEL --data NPZ
    --steps N --batch-size B --shuffle=false --metrics FILE`: load the model and the .npz, run N
    steps of SGD in file order, writing a {"type": "step"} line to --metrics after each (as train
    does, one write each), and save the state dict. The driver times the process from outside."""
    set_threads(args.threads)
    model = build(args.model, args).train()
    opt = optimizer(args.model, model)
    with np.load(args.data) as z:
        x, y = torch.from_numpy(z["input"]), torch.from_numpy(z["y"])
    n = x.shape[0]
    done = 0
    with open(args.metrics, "w", buffering=1) as log:
        while done < args.steps:
            for i in range(0, n, args.batch):
                if done == args.steps:
                    break
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x[i:i + args.batch]), y[i:i + args.batch])
                loss.backward()
                opt.step()
                done += 1
                log.write(json.dumps({"type": "step", "step": done, "loss": loss.item()}) + "\n")
    torch.save(model.state_dict(), args.out)


def export(m, name, path, x, train):
    """torch.onnx.export with the TorchScript exporter (dynamo=False; see docs/performance.md):
    for training with TrainingMode.PRESERVE and no constant folding (BatchNorm kept, state-dict
    names), else the default eval export (Conv and BatchNorm fused). Images get a dynamic batch."""
    kw = dict(input_names=["input"], output_names=["logits"], dynamo=False)
    if "vocab" not in SPEC[name]:
        kw["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    if train:
        kw.update(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)
    tmp = path + ".tmp"
    torch.onnx.export(m, (x,), tmp, **kw)
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)


def fixture_files(name):
    files = {"train": name + "_train.onnx", "state": name + ".pt"}
    if name in EVAL:
        files["eval"] = name + "_eval.onnx"
    if name == "cli":
        files = {"data": "resnet_cli.npz"}
    return files


def cmd_fixtures(args):
    """Writes each model of --only (and the whole-CLI workload's data, "cli") into --dir unless its
    entry in the stamp fixtures.json says this version made it, then prints {"files": {...},
    "made": [...], "failed": {name: message}}: a model that cannot be built or exported is reported,
    and the others are still made."""
    stamp = os.path.join(args.dir, "fixtures.json")
    try:
        with open(stamp) as f:
            have = json.load(f)
    except (OSError, ValueError):
        have = {}
    os.makedirs(args.dir, exist_ok=True)
    torch.set_num_threads(2)
    made, files, failed = [], {}, {}
    names = [n for n in args.only.split(",") if n]
    if "cli" in names and "resnet" not in names:
        names.insert(0, "resnet")
    for name in names:
        fs = fixture_files(name)
        files[name] = fs
        want = json.loads(json.dumps({"version": FIXTURE_VERSION, "torch": torch.__version__, "files": fs,
                                      "spec": SPEC.get(name, {})}))
        if have.get(name) == want and all(os.path.exists(os.path.join(args.dir, p)) for p in fs.values()):
            continue
        import warnings
        warnings.filterwarnings("ignore")  # exporter chatter
        try:
            make_fixture(name, fs, args.dir)
        except Exception as e:  # noqa: BLE001 -- any failure of one model is reported, not fatal
            failed[name] = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[-1] if str(e).strip() else "")
            have.pop(name, None)
            continue
        have[name] = want
        made.append(name)
        with open(stamp, "w") as f:
            json.dump(have, f, indent=1)
    print(json.dumps({"files": files, "made": made, "failed": failed}))


def make_fixture(name, fs, folder):
    if name == "cli":
        # 13 batches of 16 ResNet inputs, the whole-command workload's data.
        g = torch.Generator().manual_seed(INPUT_SEED)
        x = torch.randn((13 * 16,) + SPEC["resnet"]["shape"], generator=g).numpy()
        y = (np.arange(x.shape[0]) % SPEC["resnet"]["classes"]).astype(np.int64)
        np.savez(os.path.join(folder, fs["data"]), input=x, y=y)
        return
    m = fresh(name)
    x, _ = inputs(name, 1 if "vocab" not in SPEC[name] else SPEC[name]["batch"])
    export(m, name, os.path.join(folder, fs["train"]), x, True)
    if "eval" in fs:
        export(m, name, os.path.join(folder, fs["eval"]), x, False)
    torch.save(m.state_dict(), os.path.join(folder, fs["state"]))


def cmd_check(args):
    """Only the imports: the driver's check that the reference tools are installed. Prints the
    versions and the path of onnxruntime's shared library (the Go ONNX Runtime worker loads it)."""
    try:
        import torchvision  # noqa: F401
        import transformers  # noqa: F401
        import onnxruntime
    except ImportError as e:
        missing(e)
    capi = os.path.join(os.path.dirname(onnxruntime.__file__), "capi")
    libs = sorted(f for f in os.listdir(capi) if f.startswith("libonnxruntime.so"))
    print(json.dumps({"version": versions(), "ort_lib": os.path.join(capi, libs[0]) if libs else ""}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name, fn):
        p = sub.add_parser(name)
        p.set_defaults(fn=fn)
        p.add_argument("--dir", default=".cache/bench", help="fixture folder")
        p.add_argument("--models", default="models", help="the repository's models/ folder")
        p.add_argument("--t0", type=int, default=time.time_ns(), help="driver's clock (ns) at spawn")
        p.add_argument("--warmup", type=int, default=3)
        p.add_argument("--steps", type=int, default=20, help="steady-state steps at most")
        p.add_argument("--budget", type=float, default=0, help="seconds of steady state at most (0: no limit)")
        return p

    add("check", cmd_check)
    p = add("fixtures", cmd_fixtures)
    p.add_argument("--only", default="resnet", help="comma-separated: " + ", ".join(list(SPEC)[1:]) + ", cli")
    p = add("train", cmd_train)
    p.add_argument("--model", choices=list(SPEC), required=True)
    p.add_argument("--batch", type=int, required=True)
    p = add("scaling", cmd_scaling)
    p.add_argument("--batches", default="8,16,32,64")
    p = add("infer", cmd_infer)
    p.add_argument("--model", choices=EVAL, default="resnet")
    p.add_argument("--workload", default="infer", help="the name the result carries")
    p.add_argument("--batch", type=int, default=16)
    p = add("io", cmd_io)
    p.add_argument("--file", required=True)
    p.add_argument("--tmp", default=".cache/bench/tmp")
    p = add("loop", cmd_loop)
    p.add_argument("--model", choices=list(SPEC), default="resnet")
    p.add_argument("--data", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", required=True, help="where to save the trained state dict")
    p.add_argument("--metrics", required=True, help="where to write a JSON line after every step")
    args = ap.parse_args()
    if args.cmd not in ("fixtures", "check", "loop"):
        set_threads()
    args.fn(args)


if __name__ == "__main__":
    main()
