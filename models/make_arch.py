#!/usr/bin/env python3
"""Tiny random-weight versions of the architectures people fine-tune, exported by current PyTorch.

Run with the repository's reference virtual environment (scripts/reference-tools.sh installs torch
2.14.1, torchvision 0.29.1, transformers, onnx, onnxscript, onnxruntime into .venv):

    bash scripts/reference-tools.sh
    .venv/bin/python models/make_arch.py          # writes models/arch/, about a minute on 2 cores
    .venv/bin/python models/make_arch.py bert vit # only these models (the manifest keeps the others)

Architectures (each with a classification head, sizes cut down so that every file is a few tens of KB):
BERT, DistilBERT and RoBERTa (Hugging Face *ForSequenceClassification), a MiniLM sentence encoder
(BertModel with all-MiniLM-L6-v2's config scaled down, masked mean pooling, L2 normalization, a Linear
head), ViT (ViTForImageClassification), Whisper's encoder (WhisperForAudioClassification: encoder,
projector, mean, classifier), MobileNetV3 (torchvision's MobileNetV3 with mobilenet_v3_small's first
blocks at width 0.25) and ConvNeXt (torchvision's ConvNeXt with two one-block stages). Every parameter
gets seeded noise (mm.perturb_params), as a pretrained model has distinct values; every dropout is 0.

It reuses make_today.py's export, storage and loading helpers and writes models/arch/ in models/today's
layout (train/today_parity_test.go reads both):

    <model>_<exporter>.onnx  torch.onnx.export(..., dynamo=True) and (..., dynamo=False); dynamo_noopt
                             (optimize=False) where the default optimization changes how a parameter is
                             stored, ts_preserve (training=PRESERVE, do_constant_folding=False) where the
                             TorchScript export folds BatchNorm away or a frozen parameter into an
                             anonymous constant (Whisper's embed_positions(arange(n)): "onnx::Add_241",
                             whose name the file does not hold). Fixed shapes, eval mode, default
                             opset, input "input", output "logits".
    <model>.expected.npz     x at the export batch (2), logits: PyTorch's eval output
    <model>_adamw.npz        the training reference at batch 3: x, y, loss [3], lrs [3, groups],
                             step<k>/<state_dict name> after each of 3 steps of torch.optim.AdamW
                             (default betas, eps, weight_decay 0.01) with two groups: the backbone at lr
                             1e-4, the head (the model's "head" glob) at lr 1e-3; cross-entropy, train mode;
                             grad<k>/<parameter name>: each trained parameter's gradient at step k (before
                             the step), which tells the harness the parameters whose gradient is zero but
                             for rounding (an attention's key bias, a bias before a BatchNorm)
    manifest.json            make_today.py's schema; training also has "optimizer" (torch.optim's
                             settings) and "frozen" (parameters with requires_grad=False)

Every training reference is computed on a module loaded back from an exported file (make_today.py's
load_from_file); ONNX Runtime's output of every export is checked against PyTorch's (1e-4 relative).
"""

import copy
import fnmatch
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "arch")
sys.path.insert(0, HERE)
import make_models as mm  # noqa: E402
import make_today as mt  # noqa: E402

torch.set_num_threads(2)
torch.use_deterministic_algorithms(True)

EXPORT_BATCH = 2
TRAIN_BATCH = 3
STEPS = 3
BACKBONE_LR = 1e-4
HEAD_LR = 1e-3
ADAMW = {"type": "AdamW", "lr": BACKBONE_LR, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01}
SEQ = 8
VOCAB = 64
CLASSES = 3


def hf(cls, config):
    """A Hugging Face model whose forward returns the logits (a subclass, so that the state_dict keeps
    the model's own names and the export has one output)."""
    sub = type(cls.__name__ + "Logits", (cls,), {"forward": lambda self, x: cls.forward(self, x).logits})
    return sub(config)


class SentenceClassifier(nn.Module):
    """A sentence-transformers encoder as people fine-tune it for classification: BertModel, mean
    pooling over the tokens the attention mask keeps (pad id 0), L2 normalization, a Linear head."""

    def __init__(self, config):
        super().__init__()
        self.encoder = transformers.BertModel(config, add_pooling_layer=False)
        self.head = nn.Linear(config.hidden_size, CLASSES)

    def forward(self, input_ids):
        mask = (input_ids != 0).to(torch.float32)
        h = self.encoder(input_ids, attention_mask=mask.to(torch.int64), return_dict=False)[0]
        m = mask.unsqueeze(-1)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return self.head(F.normalize(pooled, p=2, dim=1))


def first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def models():
    """(name, notes, module, x at the export batch, training x, training y, head glob)."""
    global transformers
    import transformers
    from torchvision.models import convnext, mobilenetv3

    out = []
    text = lambda s: (mm.fixed_input((EXPORT_BATCH, SEQ), s, dtype=torch.int64, high=VOCAB),  # noqa: E731
                      mm.fixed_input((TRAIN_BATCH, SEQ), 1000 + s, dtype=torch.int64, high=VOCAB))
    small = dict(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.0,
                 attention_probs_dropout_prob=0.0, num_labels=CLASSES)

    mm.seed(11)
    m = hf(transformers.BertForSequenceClassification, transformers.BertConfig(**small))
    out.append(("bert", "BertForSequenceClassification: 2 layers, hidden 16, 2 heads, vocab 64; input_ids only",
                m, *text(11), "classifier.*"))

    mm.seed(12)
    m = hf(transformers.DistilBertForSequenceClassification, transformers.DistilBertConfig(
        vocab_size=VOCAB, dim=16, n_layers=2, n_heads=2, hidden_dim=32, max_position_embeddings=32,
        dropout=0.0, attention_dropout=0.0, seq_classif_dropout=0.0, num_labels=CLASSES))
    out.append(("distilbert", "DistilBertForSequenceClassification: 2 layers, dim 16, 2 heads", m, *text(12),
                "*classifier.*"))

    mm.seed(13)
    m = hf(transformers.RobertaForSequenceClassification,
           transformers.RobertaConfig(**dict(small, max_position_embeddings=SEQ + 4, pad_token_id=1)))
    out.append(("roberta", "RobertaForSequenceClassification: 2 layers, hidden 16 (position ids from the "
                "input's non-pad tokens, CumSum)", m, *text(13), "classifier.*"))

    mm.seed(14)
    m = SentenceClassifier(transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=24, num_hidden_layers=2, num_attention_heads=3, intermediate_size=96,
        max_position_embeddings=32, hidden_act="gelu", layer_norm_eps=1e-12, hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0))
    out.append(("minilm", "all-MiniLM-L6-v2's BertModel config scaled down (hidden 24, 3 heads, intermediate "
                "4x, 2 layers, eps 1e-12), attention mask from pad id 0, masked mean pooling, F.normalize, "
                "Linear head", m, *text(14), "head.*"))

    mm.seed(15)
    m = hf(transformers.ViTForImageClassification, transformers.ViTConfig(
        image_size=16, patch_size=4, num_channels=3, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, num_labels=CLASSES))
    out.append(("vit", "ViTForImageClassification: 16x16 images, patch 4, 2 layers, hidden 16", m,
                mm.fixed_input((EXPORT_BATCH, 3, 16, 16), 15), mm.fixed_input((TRAIN_BATCH, 3, 16, 16), 1015),
                "classifier.*"))

    mm.seed(16)
    m = hf(transformers.WhisperForAudioClassification, transformers.WhisperConfig(
        num_mel_bins=8, d_model=16, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=32,
        decoder_layers=1, decoder_attention_heads=2, decoder_ffn_dim=32, max_source_positions=8,
        max_target_positions=8, vocab_size=VOCAB, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
        classifier_proj_size=16, num_labels=CLASSES))
    out.append(("whisper", "WhisperForAudioClassification (Whisper-tiny's encoder scaled down: 8 mel bins, 16 "
                "frames, d_model 16, 2 layers); embed_positions is frozen (requires_grad=False) as in "
                "transformers", m, mm.fixed_input((EXPORT_BATCH, 8, 16), 16),
                mm.fixed_input((TRAIN_BATCH, 8, 16), 1016), "classifier.*"))

    mm.seed(17)
    setting, _ = mobilenetv3._mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.25)
    m = mobilenetv3.MobileNetV3(setting[:4], last_channel=32, num_classes=CLASSES, dropout=0.0)
    out.append(("mobilenet_v3", "torchvision MobileNetV3 with mobilenet_v3_small's first 4 blocks at width 0.25 "
                "(SE, Hardswish, Hardsigmoid, BatchNorm), last_channel 32, 32x32 images", m,
                mm.fixed_input((EXPORT_BATCH, 3, 32, 32), 17), mm.fixed_input((TRAIN_BATCH, 3, 32, 32), 1017),
                "classifier.*"))

    mm.seed(18)
    m = convnext.ConvNeXt([convnext.CNBlockConfig(8, 16, 1), convnext.CNBlockConfig(16, None, 1)],
                          stochastic_depth_prob=0.0, num_classes=CLASSES)
    out.append(("convnext", "torchvision ConvNeXt with two one-block stages (8 and 16 channels): LayerNorm2d, "
                "depthwise 7x7 Conv, layer scale, GELU; 16x16 images", m,
                mm.fixed_input((EXPORT_BATCH, 3, 16, 16), 18), mm.fixed_input((TRAIN_BATCH, 3, 16, 16), 1018),
                "classifier.*"))

    done = []
    for i, (name, notes, m, x, tx, head) in enumerate(out):
        mm.perturb_params(m, 100 + i)
        ty = mt.labels(TRAIN_BATCH, CLASSES, 2000 + i)
        done.append((name, notes, m, x, tx, ty, head))
    return done


def eval_logits(model, x):
    was = model.training
    model.eval()
    y = first(model(x)).detach().numpy()
    model.train(was)
    return y


def train_reference(name, model, tx, ty, head):
    mt.no_dropout(model)
    specs = [{"pattern": head, "lr": HEAD_LR}]
    groups = mt.resolve_groups(model, specs)
    params = dict(model.named_parameters())
    frozen = [k for k, p in params.items() if not p.requires_grad]
    pg = []
    for s, names in groups:
        g = {"params": [params[k] for k in names if k not in frozen]}
        if s:
            g["lr"] = s["lr"]
        pg.append(g)
    opt = torch.optim.AdamW(pg, lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]), eps=ADAMW["eps"],
                            weight_decay=ADAMW["weight_decay"])
    model.train()
    arrays = {"x": tx.numpy(), "y": ty.numpy()}
    losses, lrs = [], []
    for s in range(1, STEPS + 1):
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.zero_grad()
        loss = F.cross_entropy(first(model(tx)), ty)
        loss.backward()
        for k, p in model.named_parameters():
            if p.grad is not None:
                arrays["grad%d/%s" % (s, k)] = p.grad.detach().clone().numpy()
        opt.step()
        losses.append(loss.item())
        for k, v in mt.saved_state(model).items():
            arrays["step%d/%s" % (s, k)] = v
    ordered = {"x": arrays.pop("x"), "y": arrays.pop("y"), "loss": np.array(losses, dtype=np.float32),
               "lrs": np.array(lrs, dtype=np.float64)}
    ordered.update(arrays)
    mm.save_npz(os.path.join(OUT, name + "_adamw.npz"), **ordered)
    print("  %-16s loss %s" % (name, " ".join("%.6f" % v for v in losses)))
    desc = []  # the groups as onnxtune assigns them: frozen parameters are in none
    for s, names in groups:
        names = [k for k in names if k not in frozen]
        d = {"params": names}
        if s:
            d = {"pattern": s["pattern"], "params": names, "lr": s["lr"]}
        desc.append(d)
    return desc, losses, frozen


def export(model, x, path, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(copy.deepcopy(model).eval(), (x,), path, verbose=False, **mt.IO_NAMES,
                          **mt.EXPORTERS[kind])
    assert not os.path.exists(path + ".data"), "external data written for " + path
    import onnx
    m = onnx.load(path)
    onnx.checker.check_model(m)
    return m


def main():
    only = set(sys.argv[1:])
    os.makedirs(OUT, exist_ok=True)
    v = mt.versions()
    import transformers as tf
    v["transformers"] = tf.__version__
    print("architectures -> %s (%s)" % (OUT, ", ".join("%s %s" % kv for kv in v.items())))
    old = {}
    if only and os.path.exists(os.path.join(OUT, "manifest.json")):
        import json
        with open(os.path.join(OUT, "manifest.json")) as f:
            old = {e["name"]: e for e in json.load(f)["models"]}
    entries = []
    for name, notes, model, x, tx, ty, head in models():
        if only and name not in only:
            if name in old:
                entries.append(old[name])
            continue
        model.eval()
        expected = eval_logits(model, x)
        mm.save_npz(os.path.join(OUT, name + ".expected.npz"), x=x.numpy(), logits=expected)
        sd = model.state_dict()
        param_names = {k for k, _ in model.named_parameters()}
        entry = {
            "name": name, "arch": name, "notes": notes,
            "export_batch": int(x.shape[0]), "train_batch": int(tx.shape[0]),
            "input_name": "input", "input_shape": list(x.shape), "input_dtype": mm.dtype_name(x.dtype),
            "output_name": "logits", "output_shape": list(expected.shape), "num_classes": CLASSES,
            "expected": name + ".expected.npz",
            "numel": sum(p.numel() for p in model.parameters()),
            "state_dict": [{"name": k, "shape": list(t.shape), "dtype": mm.dtype_name(t.dtype),
                            "kind": "parameter" if k in param_names else "buffer"} for k, t in sd.items()],
            "exports": [],
        }
        kinds = ["dynamo", "ts"]
        stores = {}
        for kind in list(kinds):
            path = os.path.join(OUT, "%s_%s.onnx" % (name, kind))
            m = export(model, x, path, kind)
            stores[kind] = (path, m, mt.storage(model, m))
        dyn = stores["dynamo"][2]
        if any(r["transform"] != "none" or r["value"] != k for k, r in dyn.items()):
            kinds.insert(1, "dynamo_noopt")
        # A frozen parameter the TorchScript export folded into a constant of another name (Whisper's
        # embed_positions) cannot be frozen by name: the variant without constant folding holds it.
        folded_frozen = [k for k, p in model.named_parameters()
                         if not p.requires_grad and stores["ts"][2][k]["value"] != k]
        if mt.lost(stores["ts"][2]) or folded_frozen:
            kinds.append("ts_preserve")
        for kind in kinds:
            if kind not in stores:
                path = os.path.join(OUT, "%s_%s.onnx" % (name, kind))
                m = export(model, x, path, kind)
                stores[kind] = (path, m, mt.storage(model, m))
        loaded = None
        for kind in kinds:
            path, m, store = stores[kind]
            got = mt.ort_run(path, x)
            err = float(np.abs(got - expected).max())
            scale = float(np.abs(expected).max())
            assert err <= 1e-4 * scale, (path, err, scale)
            ex = {"file": os.path.basename(path), "exporter": kind, "kwargs": mt.kwargs_json(mt.EXPORTERS[kind]),
                  "bytes": os.path.getsize(path), "ort_vs_pytorch_max_abs": err, "largest_output": scale,
                  "opset": {o.domain or "ai.onnx": o.version for o in m.opset_import},
                  "ops": sorted({n.op_type for n in m.graph.node}),
                  "storage": store, "lost": mt.lost(store),
                  "dropped_zeros": sorted(k for k, r in store.items() if r["transform"] == "dropped zeros"),
                  "shared": mt.shared(store), "training_case": None}
            if ex["lost"]:
                ex["why_no_training"] = "the export does not hold %s: the file is not the module PyTorch trains" \
                    % ", ".join(ex["lost"])
            else:
                fresh = mt.load_from_file(model, path, store)
                for k, t in fresh.state_dict().items():
                    if not k.endswith("num_batches_tracked"):
                        assert mt.same(t.numpy(), sd[k].numpy()), (path, k)
                for (k, p), (_, q) in zip(fresh.named_parameters(), model.named_parameters()):
                    p.requires_grad_(q.requires_grad)
                assert np.array_equal(eval_logits(fresh, x), expected), path
                if loaded is None:
                    loaded = fresh
                ex["training_case"] = "%s_%s" % (name, kind)
            entry["exports"].append(ex)
            print("  wrote %-30s %8d bytes  opset %s  ORT-PyTorch %.2g%s" % (
                ex["file"], ex["bytes"], ex["opset"].get("ai.onnx"), err,
                ("  lost " + ",".join(ex["lost"])) if ex["lost"] else ""))
        assert loaded is not None, name
        desc, losses, frozen = train_reference(name, loaded, tx, ty, head)
        entry["training"] = {"file": name + "_adamw.npz", "groups": desc, "loss": losses,
                             "optimizer": ADAMW, "frozen": frozen}
        entries.append(entry)
    manifest = {
        "versions": v,
        "recipe": {
            "export": "torch.onnx.export(model.eval(), (x,), f, input_names=['input'], output_names=['logits'], "
                      "**kwargs) with the exporter's kwargs; fixed shapes, default opset",
            "export_batch": EXPORT_BATCH, "train_batch": TRAIN_BATCH,
            "training": "fresh module loaded from the export; model.train(); every dropout p = 0; %d steps of "
                        "zero_grad, F.cross_entropy (mean), backward, AdamW step, on one batch" % STEPS,
            "optimizer": ADAMW,
            "groups": "default group at lr %g; the head glob at lr %g (first match wins, as onnxtune's --group)"
                      % (BACKBONE_LR, HEAD_LR),
        },
        "models": entries,
    }
    mm.write_json(os.path.join(OUT, "manifest.json"), manifest)
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print("  %d files, %d bytes in %s" % (len(os.listdir(OUT)), total, OUT))


if __name__ == "__main__":
    sys.exit(main())
