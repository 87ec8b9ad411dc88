"""A minimal baseline JPEG encoder for the subsamplings Pillow cannot write (4:4:0, 4:1:1, 4:1:0).

Only make_decode.py uses it: the files it writes are decoded by Pillow for the expected values,
so the encoder need only be valid, not good. Sequential DCT, 8-bit, one interleaved scan, JFIF;
quantization tables from a formula; Huffman tables that give every symbol a code of one length
(4 bits for DC sizes 0-11, 8 bits for the 162 AC run/size symbols).
"""
import struct

import numpy as np

ZIGZAG = sorted(((u, v) for u in range(8) for v in range(8)),
                key=lambda p: (p[0] + p[1], p[0] if (p[0] + p[1]) % 2 else p[1]))
DC_SYMBOLS = list(range(12))
AC_SYMBOLS = [0x00, 0xF0] + [(r << 4) | s for r in range(16) for s in range(1, 11)]


def _table(symbols, length):
    """bits[16], values and a symbol -> (code, length) map for a one-length canonical code."""
    bits = [0] * 16
    bits[length - 1] = len(symbols)
    assert len(symbols) < 1 << length  # the all-ones code stays unused
    return bits, symbols, {s: (i, length) for i, s in enumerate(symbols)}


DC = _table(DC_SYMBOLS, 4)
AC = _table(AC_SYMBOLS, 8)


def _dct_matrix():
    c = np.array([[np.cos((2 * x + 1) * u * np.pi / 16) for x in range(8)] for u in range(8)])
    c[0] *= 1 / np.sqrt(2)
    return c / 2


DCT = _dct_matrix()


class _Bits:
    def __init__(self):
        self.out, self.acc, self.n = bytearray(), 0, 0

    def put(self, value, length):
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.n += 1
            if self.n == 8:
                self.out.append(self.acc)
                if self.acc == 0xFF:
                    self.out.append(0)
                self.acc, self.n = 0, 0

    def flush(self):
        while self.n:
            self.put(1, 1)
        return bytes(self.out)


def _category(v):
    return int(abs(int(v))).bit_length()


def _encode_block(bits, block, q, prev_dc):
    coef = np.round((DCT @ (block - 128.0) @ DCT.T) / q).astype(int)
    zz = [coef[u, v] for u, v in ZIGZAG]
    diff = zz[0] - prev_dc
    s = _category(diff)
    bits.put(*DC[2][s])
    if s:
        bits.put(diff if diff > 0 else diff + (1 << s) - 1, s)
    run = 0
    for v in zz[1:]:
        if v == 0:
            run += 1
            continue
        while run > 15:
            bits.put(*AC[2][0xF0])
            run -= 16
        s = _category(v)
        bits.put(*AC[2][(run << 4) | s])
        bits.put(v if v > 0 else v + (1 << s) - 1, s)
        run = 0
    if run:
        bits.put(*AC[2][0x00])
    return zz[0]


def _segment(marker, payload):
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def encode(rgb, sampling):
    """JPEG bytes of rgb (uint8 [H, W, 3]); sampling is the luma's (h, v), chroma's being (1, 1)."""
    h, w, _ = rgb.shape
    hs, vs = sampling
    f = rgb.astype(np.float64)
    ycc = np.stack([
        0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2],
        -0.168736 * f[..., 0] - 0.331264 * f[..., 1] + 0.5 * f[..., 2] + 128,
        0.5 * f[..., 0] - 0.418688 * f[..., 1] - 0.081312 * f[..., 2] + 128,
    ], axis=-1)
    mh, mw = 8 * vs, 8 * hs
    ph, pw = -(-h // mh) * mh, -(-w // mw) * mw
    ycc = np.pad(ycc, ((0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    planes = [ycc[..., 0]]
    for c in (1, 2):  # box-filtered chroma
        planes.append(ycc[..., c].reshape(ph // vs, vs, pw // hs, hs).mean(axis=(1, 3)))
    planes = [np.clip(np.round(p), 0, 255) for p in planes]
    uv = np.add.outer(np.arange(8), np.arange(8))
    qt = [2 + 2 * uv, 3 + 3 * uv]
    factors = [(hs, vs), (1, 1), (1, 1)]

    out = b"\xff\xd8"
    out += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    for i, q in enumerate(qt):
        out += _segment(0xDB, bytes([i]) + bytes(int(q[u, v]) for u, v in ZIGZAG))
    sof = struct.pack(">BHHB", 8, h, w, 3)
    for i, (fh, fv) in enumerate(factors):
        sof += bytes([i + 1, (fh << 4) | fv, min(i, 1)])
    out += _segment(0xC0, sof)
    for cls, ident, (b, vals, _) in [(0, 0, DC), (1, 0, AC)]:
        out += _segment(0xC4, bytes([(cls << 4) | ident]) + bytes(b) + bytes(vals))
    out += _segment(0xDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]))
    bits, prev = _Bits(), [0, 0, 0]
    for my in range(ph // mh):
        for mx in range(pw // mw):
            for c, (fh, fv) in enumerate(factors):
                for v in range(fv):
                    for u in range(fh):
                        y0, x0 = (my * fv + v) * 8, (mx * fh + u) * 8
                        block = planes[c][y0:y0 + 8, x0:x0 + 8]
                        prev[c] = _encode_block(bits, block, qt[min(c, 1)], prev[c])
    out += bits.flush() + b"\xff\xd9"
    return out
