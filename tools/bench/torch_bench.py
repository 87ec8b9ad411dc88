#!/usr/bin/python3
"""Reference side of the onnxtune benchmark harness (tools/bench, docs/performance.md).

Run by the Go driver with Debian's interpreter, which has PyTorch 1.13, torchvision 0.14 and onnx 1.12:

    /usr/bin/python3 tools/bench/torch_bench.py check
    /usr/bin/python3 tools/bench/torch_bench.py fixtures --dir .cache/bench
    /usr/bin/python3 tools/bench/torch_bench.py train --model lenet --batch 64 --models models --dir .cache/bench
    /usr/bin/python3 tools/bench/torch_bench.py scaling --batches 8,16,32,64 --models models
    /usr/bin/python3 tools/bench/torch_bench.py infer --batch 16 --dir .cache/bench
    /usr/bin/python3 tools/bench/torch_bench.py io --file .cache/bench/resnet18_64px_preserve.onnx

`check` only imports the packages (and prints their versions); `fixtures` writes the ResNet-18 models both sides use (idempotent) and prints one JSON line naming them.
Every other command is one measurement in its own process (so its peak RSS is its own): it prints
progress nowhere and exactly one JSON line on stdout, in the format tools/bench/worker.go documents:
start-up (from --t0, the driver's clock when it started this process, to the first step done), the
steady-state step times after a warm-up, and the peak resident set size (VmHWM).

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
    sys.stderr.write("torch_bench: %s; install the reference tools with: "
                     "apt-get install -y python3-torch python3-torchvision python3-onnx "
                     "(and run them with /usr/bin/python3)\n" % e)
    sys.exit(3)


try:
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

FIXTURE_VERSION = 1
RESNET_SEED = 7
INPUT_SEED = 1
HEAD = {"lenet": "fc3.", "resnet": "fc."}
CLASSES = {"lenet": 10, "resnet": 1000}
SHAPE = {"lenet": (1, 28, 28), "resnet": (3, 64, 64)}


def set_threads():
    torch.set_num_threads(2)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # only allowed before any inter-op work started
        pass


# ----------------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------------


def lenet(models_dir):
    """MnistLeNet with the weights of models/mnist_lenet_10.onnx (its initializers carry the
    state_dict names; load_state_dict is strict, so a mismatch is an error)."""
    m = MnistLeNet(10)
    proto = onnx.load(os.path.join(models_dir, "mnist_lenet_10.onnx"))
    sd = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in proto.graph.initializer}
    m.load_state_dict(sd, strict=True)
    return m


def resnet_fresh():
    """torchvision ResNet-18 (1000 classes), seeded, with distinct BatchNorm tensors: random
    affine parameters and running statistics from two train-mode passes, so that the exporter
    ties no initializers (as in a pretrained model)."""
    import torchvision.models as tvm
    torch.manual_seed(RESNET_SEED)
    m = tvm.resnet18(weights=None)
    g = torch.Generator().manual_seed(RESNET_SEED + 1)
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                mod.weight.copy_(1 + 0.1 * torch.randn(mod.weight.shape, generator=g))
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=g))
        m.train()
        for _ in range(2):
            m(torch.randn((8, 3, 64, 64), generator=g))
    return m.eval()


def resnet(cache_dir):
    import torchvision.models as tvm
    m = tvm.resnet18(weights=None)
    m.load_state_dict(torch.load(os.path.join(cache_dir, "resnet18_64px.pt")), strict=True)
    return m


def build(name, args):
    return lenet(args.models) if name == "lenet" else resnet(args.dir)


def inputs(name, batch):
    g = torch.Generator().manual_seed(INPUT_SEED)
    x = torch.randn((batch,) + SHAPE[name], generator=g)
    y = torch.arange(batch, dtype=torch.int64) % CLASSES[name]
    return x, y


def optimizer(name, model):
    """SGD lr 0.001, momentum 0.9, weight decay 1e-4; the head at lr 0.01."""
    head = [p for n, p in model.named_parameters() if n.startswith(HEAD[name])]
    base = [p for n, p in model.named_parameters() if not n.startswith(HEAD[name])]
    return torch.optim.SGD([{"params": base}, {"params": head, "lr": 0.01}], 0.001,
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


def timed(fn, warmup, steps, budget):
    """Runs fn warmup times, then up to steps times (at least 3, at most budget seconds when
    budget > 0) and returns the steady-state times in ms."""
    for _ in range(warmup):
        fn()
    times = []
    start = time.perf_counter()
    while len(times) < steps:
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
        if budget > 0 and time.perf_counter() - start > budget and len(times) >= 3:
            break
    return times


def summary(times):
    return {"times_ms": [round(t, 4) for t in times], "median_ms": statistics.median(times), "min_ms": min(times)}


def emit(out):
    out["peak_rss_kb"] = status_kb("VmHWM")
    out["version"] = "torch %s, onnx %s" % (torch.__version__, onnx.__version__)
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
    out.update(summary(timed(step, args.warmup, args.steps, args.budget)))
    emit(out)


def cmd_scaling(args):
    """LeNet training steps at several batch sizes, interleaved (one step of each in turn) so
    that a slow spell of the machine hits every batch size alike."""
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
    for _ in range(args.warmup):
        for s in steps:
            s()
    times = [[] for _ in batches]
    start = time.perf_counter()
    while len(times[0]) < args.steps:
        for i, s in enumerate(steps):
            t = time.perf_counter()
            s()
            times[i].append((time.perf_counter() - t) * 1e3)
        if args.budget > 0 and time.perf_counter() - start > args.budget and len(times[0]) >= 3:
            break
    points = []
    for b, ts in zip(batches, times):
        p = {"batch": b}
        p.update(summary(ts))
        points.append(p)
    emit({"impl": "pytorch", "workload": "scaling", "startup_ms": startup, "warmup": args.warmup,
          "base_rss_kb": base, "points": points, **summary(times[-1])})


def cmd_infer(args):
    base = status_kb("VmRSS")
    model = resnet(args.dir).eval()
    x, _ = inputs("resnet", args.batch)

    def run():
        with torch.inference_mode():
            model(x)
    run()
    startup = since_ms(args.t0)
    out = {"impl": "pytorch", "workload": "infer", "batch": args.batch, "startup_ms": startup,
           "warmup": args.warmup, "base_rss_kb": base}
    out.update(summary(timed(run, args.warmup, args.steps, args.budget)))
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
    out.update(summary(timed(run, args.warmup, args.steps, args.budget)))
    os.remove(out_path)
    emit(out)


def cmd_fixtures(args):
    """Writes resnet18_64px_{preserve,eval}.onnx and resnet18_64px.pt into --dir unless a stamp
    of this version is there already, then prints {"files": {...}} as one JSON line."""
    files = {"train": "resnet18_64px_preserve.onnx", "eval": "resnet18_64px_eval.onnx", "state": "resnet18_64px.pt"}
    stamp = os.path.join(args.dir, "fixtures.json")
    want = {"version": FIXTURE_VERSION, "torch": torch.__version__, "files": files}
    try:
        with open(stamp) as f:
            have = json.load(f)
        if have == want and all(os.path.exists(os.path.join(args.dir, p)) for p in files.values()):
            print(json.dumps({"files": files, "made": False}))
            return
    except (OSError, ValueError):
        pass
    import warnings
    warnings.filterwarnings("ignore")  # exporter chatter
    os.makedirs(args.dir, exist_ok=True)
    torch.set_num_threads(2)
    m = resnet_fresh()
    x = torch.randn((1, 3, 64, 64), generator=torch.Generator().manual_seed(INPUT_SEED))
    common = dict(input_names=["input"], output_names=["logits"],
                  dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13)
    exports = {"train": dict(training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False), "eval": {}}
    for key, kw in exports.items():
        tmp = os.path.join(args.dir, files[key] + ".tmp")
        torch.onnx.export(m, (x,), tmp, **common, **kw)
        onnx.checker.check_model(onnx.load(tmp))
        os.replace(tmp, os.path.join(args.dir, files[key]))
    torch.save(m.state_dict(), os.path.join(args.dir, files["state"]))
    with open(stamp, "w") as f:
        json.dump(want, f)
    print(json.dumps({"files": files, "made": True}))


def cmd_check(args):
    """Only the imports: the driver's check that the reference tools are installed."""
    try:
        import torchvision
    except ImportError as e:
        missing(e)
    print(json.dumps({"version": "torch %s, torchvision %s, onnx %s" % (
        torch.__version__, torchvision.__version__, onnx.__version__)}))


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
    add("fixtures", cmd_fixtures)
    p = add("train", cmd_train)
    p.add_argument("--model", choices=["lenet", "resnet"], required=True)
    p.add_argument("--batch", type=int, required=True)
    p = add("scaling", cmd_scaling)
    p.add_argument("--batches", default="8,16,32,64")
    p = add("infer", cmd_infer)
    p.add_argument("--batch", type=int, default=16)
    p = add("io", cmd_io)
    p.add_argument("--file", required=True)
    p.add_argument("--tmp", default=".cache/bench/tmp")
    args = ap.parse_args()
    if args.cmd not in ("fixtures", "check"):
        set_threads()
    args.fn(args)


if __name__ == "__main__":
    main()
