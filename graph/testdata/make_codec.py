"""Writes codec.json: float16 and bfloat16 conversions computed by numpy and
ml_dtypes, the references for graph/codec_test.go.

    python3 -m venv .venv && .venv/bin/pip install numpy ml_dtypes
    .venv/bin/python graph/testdata/make_codec.py

Every number in codec.json is a bit pattern (float32 as uint32, the 16-bit
types as uint16) so that NaN payloads, signed zeros and subnormals compare
exactly.
"""
import json
import os

import ml_dtypes
import numpy as np

rng = np.random.default_rng(11)

# float32 inputs: specials, the edges of both formats, every rounding
# boundary around them (halfway points and their neighbours), random bits.
specials = np.array(
    [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf, np.nan, -np.nan, 65504.0, 65519.0, 65520.0,
     6.1035156e-05, 5.9604645e-08, 2.9802322e-08, 2.9802326e-08, 3.3895314e38,
     3.4028235e38, 1e-45, 1.1754942e-38, 1.1754944e-38, 0.1, 1 / 3],
    dtype=np.float32).view(np.uint32)
edges = []
for h in list(range(0, 0x10000, 1021)) + [0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0x7e00, 0x8001, 0xfbff]:
    b = int(np.array([h], dtype=np.uint16).view(np.float16).astype(np.float32).view(np.uint32)[0])
    bf = h << 16
    for base in (b, bf):
        for d in (-1, 0, 1, 0x0fff, 0x1000, 0x1001, 0x7fff, 0x8000, 0x8001):
            edges.append((base + d) & 0xFFFFFFFF)
randoms = rng.integers(0, 2**32, size=1000, dtype=np.uint64).astype(np.uint32)
nan_payloads = np.array([0x7F800001, 0xFF800001, 0x7FC00000, 0x7FA00000, 0x7F802000, 0xFFFFFFFF], dtype=np.uint32)
f32 = np.unique(np.concatenate([specials, np.array(edges, dtype=np.uint32), randoms, nan_payloads]))

x = f32.view(np.float32)
with np.errstate(over="ignore", invalid="ignore"):
    to_f16 = x.astype(np.float16).view(np.uint16)
    to_bf16 = x.astype(ml_dtypes.bfloat16).view(np.uint16)

# 16-bit inputs: a stride through every pattern plus the specials.
h16 = np.unique(np.concatenate([np.arange(0, 0x10000, 61, dtype=np.uint32),
                                np.array([0x0000, 0x0001, 0x03ff, 0x0400, 0x7bff, 0x7c00, 0x7c01, 0x7e00,
                                          0x7f80, 0x7fc0, 0x8000, 0x8001, 0xfc00, 0xffff], dtype=np.uint32)])).astype(np.uint16)
f16_to_f32 = h16.view(np.float16).astype(np.float32).view(np.uint32)
bf16_to_f32 = h16.view(ml_dtypes.bfloat16).astype(np.float32).view(np.uint32)

out = {
    "generator": f"numpy {np.__version__}, ml_dtypes {ml_dtypes.__version__}",
    "float32_bits": [int(v) for v in f32],
    "to_float16": [int(v) for v in to_f16],
    "to_bfloat16": [int(v) for v in to_bf16],
    "bits16": [int(v) for v in h16],
    "float16_to_float32": [int(v) for v in f16_to_f32],
    "bfloat16_to_float32": [int(v) for v in bf16_to_f32],
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "codec.json")
with open(path, "w") as f:
    json.dump(out, f, separators=(",", ":"))
    f.write("\n")
print(path, len(f32), "float32 inputs,", len(h16), "16-bit inputs")
