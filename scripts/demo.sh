#!/usr/bin/env bash
# The main job on the bundled sample models, from a fresh clone: build the
# onnxtune CLI, inspect a PyTorch export whose Conv+BatchNorm layers were fused
# and anonymized (onnx::Conv_N), then convert a training-mode export into the
# inference model with PyTorch names and inspect the result.
# Needs only Go; outputs go to ./out/ (ignored by git).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p out
step() { printf '\n==> %s\n' "$*"; }

step "go build -o out/onnxtune ./cmd/onnxtune"
go build -o out/onnxtune ./cmd/onnxtune

step "onnxtune inspect models/bn_cnn_eval.onnx   (names recovered from the fused export)"
out/onnxtune inspect models/bn_cnn_eval.onnx

step "onnxtune convert models/bn_cnn_training.onnx -o out/bn_cnn_inference.onnx"
out/onnxtune convert models/bn_cnn_training.onnx -o out/bn_cnn_inference.onnx

step "onnxtune inspect out/bn_cnn_inference.onnx"
out/onnxtune inspect out/bn_cnn_inference.onnx

step "onnxtune convert models/bn_tied.onnx -o out/bn_untied.onnx   (tied BatchNorm tensors get their own copies)"
out/onnxtune convert models/bn_tied.onnx -o out/bn_untied.onnx

step "onnxtune convert models/bn_cnn_eval.onnx -o out/bn_cnn_named.onnx   (onnx::Conv_N initializers renamed to PyTorch names)"
out/onnxtune convert models/bn_cnn_eval.onnx -o out/bn_cnn_named.onnx
