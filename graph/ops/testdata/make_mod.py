"""Writes mod.json: ONNX Mod's references from numpy (the ONNX operator documentation defines
fmod=0 as numpy.mod, the sign of the divisor, and fmod=1 as numpy.fmod, the sign of the dividend).

    .venv/bin/python graph/ops/testdata/make_mod.py
"""
import json
import os

import numpy as np

a = [-7, -5, -1, 0, 3, 7, 9, 12]
b = [3, -3, 2, 5, -2, 7, 4, -5]
af = [-7.5, -5.25, -1.0, 0.0, 3.5, 7.0, 9.25, 12.5]
bf = [3.0, -3.0, 2.0, 5.0, -2.0, 7.0, 4.0, -5.0]
out = {
    "a": a, "b": b, "af": af, "bf": bf,
    "int64_mod": np.mod(np.array(a, np.int64), np.array(b, np.int64)).tolist(),
    "int64_fmod": np.fmod(np.array(a, np.int64), np.array(b, np.int64)).tolist(),
    "int32_mod": np.mod(np.array(a, np.int32), np.array(b, np.int32)).tolist(),
    "float32_fmod": np.fmod(np.array(af, np.float32), np.array(bf, np.float32)).tolist(),
}
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "mod.json"), "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
