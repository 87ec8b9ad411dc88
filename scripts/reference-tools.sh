#!/usr/bin/env bash
# Installs today's reference tools into .venv (repo-local, gitignored): current
# PyTorch and torchvision (PyPI's x86_64 build is a CUDA one, several GB; it
# runs on the CPU), onnx, onnxscript, onnxruntime, numpy, ml_dtypes and
# transformers (Hugging Face models for models/make_arch.py), timm (ModelEmaV2 for
# models/make_recipe.py). They
# make the fixtures (models/make_today.py, models/make_arch.py, graph/testdata/make_codec.py)
# and the gathered-model cache; the test suite and CI never need them.
#
#   bash scripts/reference-tools.sh     # then: .venv/bin/python models/make_today.py
set -euo pipefail
cd "$(dirname "$0")/.."
TORCH=${TORCH:-2.14.1}
TORCHVISION=${TORCHVISION:-0.29.1}
if [ ! -x .venv/bin/python ]; then
	python3 -m venv .venv
fi
.venv/bin/pip install --quiet --progress-bar off "torch==$TORCH" "torchvision==$TORCHVISION"
# The versions the fixtures and docs/performance.md were made with; override by environment.
.venv/bin/pip install --quiet --progress-bar off "onnx==${ONNX:-1.23.2}" "onnxscript==${ONNXSCRIPT:-0.7.2}" \
	"onnxruntime==${ONNXRUNTIME:-1.32.0}" numpy ml_dtypes "transformers==${TRANSFORMERS:-5.24.0}" onnxconverter-common
# timm: ModelEmaV2 (models/make_recipe.py) and the evaluation transform (crop_pct) of models/make_augment.py.
.venv/bin/pip install --quiet --progress-bar off "timm==${TIMM:-1.0.31}"
# scikit-learn: the metrics of models/make_metrics.py
.venv/bin/pip install --quiet --progress-bar off scikit-learn
.venv/bin/python - <<'PY'
import torch, torchvision, onnx, onnxscript, onnxruntime, transformers, timm
print("reference tools:", "torch", torch.__version__, "torchvision", torchvision.__version__,
      "onnx", onnx.__version__, "onnxscript", onnxscript.__version__, "onnxruntime", onnxruntime.__version__,
      "transformers", transformers.__version__, "timm", timm.__version__)
PY
