#!/usr/bin/env python3
"""Prints the expected SHA-256 digests of quantize_kernels_test.cc, computed with numpy.

The inputs are the test's integer formula (uint32 arithmetic), the quantization is the
reference's formula with every operation in the model dtype (numpy float16 / float32 arithmetic;
float16 division and products computed in float32 then rounded are exact-rounded: 24 >= 2*11+2),
round half to even, codes packed as in schema/FORMAT.md, then the scales (little-endian T).
Run: /usr/bin/python3 tests/unit/exporter/quantize_kernels_expected.py
"""
import hashlib

import numpy as np

EXP_BASE = [117, 95, 127]  # per row: |x| in 2^-10..2^2, in 2^-32..2^-20 (fp16 zero/subnormal), 2^0..2^12
SHAPES = [(3, 77, 0), (3, 90, 45), (3, 64, 32)]


def source_bits(rows, cols):
    k = np.arange(rows * cols, dtype=np.uint64)
    h = ((k * 2654435761 + 12345) & 0xFFFFFFFF).astype(np.uint64)
    h = h ^ (h >> 15)
    r = (k // cols).astype(np.int64)
    e = np.array(EXP_BASE, dtype=np.uint64)[r] + (h >> 1) % 12
    u = ((h & 1) << 31) | (e << 23) | ((h >> 5) & 0x7FFFFF)
    return u.astype(np.uint32)


def source_values(u, src):
    f = u.view(np.float32)
    if src == "f32":
        return f
    if src == "bf16":
        return (u & 0xFFFF0000).view(np.float32)
    return f.astype(np.float16).astype(np.float32)


def quantize(x, rows, cols, group, bits, t):
    T = np.float16 if t == "f16" else np.float32
    group = group or cols
    div, qmin, qmax = (T(7.5), -8, 7) if bits == 4 else (T(127.5), -128, 127)
    eps = T(2.0 ** -14) if t == "f16" else T(2.0 ** -126)
    xs = x.astype(T).reshape(rows, cols // group, group)
    amax = np.maximum(np.abs(np.minimum(xs.min(axis=2), T(0))), np.maximum(xs.max(axis=2), T(0)))
    with np.errstate(over="raise", invalid="raise", under="ignore"):
        scale = np.maximum((amax / div).astype(T), eps)
        recip = (T(1) / scale).astype(T)
        y = (xs * recip[:, :, None]).astype(T)
    q = np.clip(np.rint(y.astype(np.float64)), qmin, qmax).astype(np.int64).reshape(-1)
    if bits == 8:
        codes = q.astype(np.int8).tobytes()
    else:
        n = q & 0xF
        if len(n) % 2:
            n = np.append(n, 0)
        codes = (n[0::2] | (n[1::2] << 4)).astype(np.uint8).tobytes()
    return codes + scale.astype(T).reshape(-1).tobytes()


for rows, cols, group in SHAPES:
    u = source_bits(rows, cols)
    for src in ("bf16", "f16", "f32"):
        x = source_values(u, src)
        for t in ("f16", "f32"):
            for bits in (4, 8):
                d = hashlib.sha256(quantize(x, rows, cols, group, bits, t)).hexdigest()
                print(f'    {{{rows}, {cols}, {group}, DType::{src.upper()}, DType::{t.upper()}, {bits}, "{d}"}},')
