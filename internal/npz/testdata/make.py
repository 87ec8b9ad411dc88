#!/usr/bin/env python3
"""Writes the fixtures of internal/npz's tests with numpy.

Run with Debian's interpreter (it has numpy):

    /usr/bin/python3 internal/npz/testdata/make.py

Outputs, next to this script:
  numpy.npz             np.savez of the arrays below (stored members)
  numpy_compressed.npz  np.savez_compressed of the same arrays (deflated)
  fortran.npz           one Fortran-ordered array (must be rejected)
  float16.npz           one float16 array of ones
  half.npz              float16 arrays: h (every kind of value: subnormals, the largest,
                        infinities, NaN, -0), h_be (the same, big-endian), h3 ([2, 3], C order)
  half.json             for each array of half.npz: shape and the values' bits (uint16)
  complex.npz           one complex64 array (an unsupported type, rejected)
  numpy.json            for each array of numpy.npz: dtype, shape and values
                        (flattened in C order), for the test to compare with
"""
import json
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def arrays():
    rng = np.random.default_rng(7)
    return {
        "f32": rng.standard_normal((2, 3, 4)).astype(np.float32),
        "f64": rng.standard_normal((5,)).astype(np.float64),
        "i64": np.arange(-3, 3, dtype=np.int64).reshape(2, 3),
        "i32": np.array([[-(2**31), 2**31 - 1]], dtype=np.int32),
        "i8": np.array([-128, -1, 0, 127], dtype=np.int8),
        "u8": np.arange(250, 256, dtype=np.uint8).reshape(3, 2),
        "bool": np.array([[True, False, True]]),
        "scalar": np.float32(2.5).reshape(()),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "big_endian": np.array([1.5, -2.25, 3.0], dtype=">f4"),
        "layer1.0.conv1.weight": rng.standard_normal((4, 2, 3, 3)).astype(np.float32),
        # The C-ordered copy of a transposed array.
        "transposed": np.ascontiguousarray(np.arange(6, dtype=np.int32).reshape(2, 3).T),
    }


def values(a):
    flat = a.reshape(-1)
    if a.dtype.kind == "b":
        return [bool(v) for v in flat]
    if a.dtype.kind == "f":
        return [float(v) for v in flat]  # exact for float32 and float64
    return [int(v) for v in flat]


def main():
    arrs = arrays()
    np.savez(os.path.join(HERE, "numpy.npz"), **arrs)
    np.savez_compressed(os.path.join(HERE, "numpy_compressed.npz"), **arrs)
    np.savez(
        os.path.join(HERE, "fortran.npz"),
        f=np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
    )
    np.savez(os.path.join(HERE, "float16.npz"), h=np.ones((2,), dtype=np.float16))
    h = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 6.1035156e-05, 5.9604645e-08, -3.0517578e-05,
                  np.inf, -np.inf, np.nan, 0.33325195, 1000.5], dtype=np.float16)
    halves = {"h": h, "h_be": h.astype(">f2"), "h3": np.arange(6, dtype=np.float16).reshape(2, 3) / 8}
    np.savez(os.path.join(HERE, "half.npz"), **halves)
    with open(os.path.join(HERE, "half.json"), "w") as f:
        bits = {k: {"shape": list(a.shape), "bits": [int(b) for b in a.astype("<f2").view(np.uint16).reshape(-1)]}
                for k, a in halves.items()}
        json.dump(bits, f, indent=1, sort_keys=True)
        f.write("\n")
    np.savez(os.path.join(HERE, "complex.npz"), c=np.ones((2,), dtype=np.complex64))
    meta = {
        k: {"dtype": a.dtype.name, "shape": list(a.shape), "data": values(a)}
        for k, a in arrs.items()
    }
    with open(os.path.join(HERE, "numpy.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
