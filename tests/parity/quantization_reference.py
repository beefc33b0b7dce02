"""Independent PyTorch implementation of SPEC §6 (torchao-style symmetric weight-only quantization).

    q, scale = quantize(w, torch.float16, bits=4, group=0)     # c4w: one scale per row
    q, scale = quantize(w, torch.float16, bits=4, group=32)    # b4w / -E 4,32
    w_hat = dequantize(q, scale, torch.float16)

Every step is a torch op on tensors of the model dtype T, so each result is rounded once to T:
  x = w.to(T)
  amax  = max(|min(min(block), 0)|, max(max(block), 0))
  scale = amax / div               (div = 7.5 for int4, 127.5 for int8; a true division in T)
  scale = max(scale, tiny(T))      (smallest normal: fp16 2^-14, fp32 2^-126) -- the stored scale
  recip = 1 / scale                (in T)
  y     = x * recip                (in T)
  q     = clamp(round_half_even(y), qmin, qmax)
  dequantized = q.to(T) * scale    (in T)
torch 1.13 has no CPU round/clamp for Half, so those two exact steps run on y widened to fp32
(exact: every fp16 value is an fp32 value, and rounding to an integer is the same in both).

quantize_f64() is a second, numpy float64 implementation (each result rounded to T by numpy's
correctly rounded conversion; float64 is wide enough that double rounding is harmless for
+,*,/ in fp16 and fp32). selfcheck() requires both to agree, so a PyTorch kernel that does not
round the way SPEC §6 says (e.g. a scalar division done as a multiplication) is caught here.
"""
import numpy as np
import torch

DIV = {4: 7.5, 8: 127.5}
QRANGE = {4: (-8, 7), 8: (-128, 127)}
NP_DTYPES = {torch.float16: np.float16, torch.float32: np.float32}


def _blocks(x, group):
    n, k = x.shape
    g = k if group == 0 else group
    if k % g:
        raise ValueError("group %d does not divide %d" % (g, k))
    return x.reshape(n, k // g, g)


def quantize(w, T, bits, group):
    """w [n, k] (any float dtype) → (codes torch.int8 [n, k], scales T [n] or [n, k/group])."""
    x = w.to(T)
    n, k = x.shape
    b = _blocks(x, group)                                   # [n, G, g]
    zero = torch.zeros((), dtype=T)
    mn = torch.minimum(b.amin(-1, keepdim=True), zero)      # min(min(block), 0)
    mx = torch.maximum(b.amax(-1, keepdim=True), zero)      # max(max(block), 0)
    amax = torch.maximum(mn.abs(), mx)                      # [n, G, 1]
    scale = amax / torch.full_like(amax, DIV[bits])         # elementwise true division in T
    scale = torch.maximum(scale, torch.full_like(scale, torch.finfo(T).tiny))
    recip = torch.ones_like(scale) / scale
    y = b * recip                                           # rounded to T
    lo, hi = QRANGE[bits]
    q = torch.round(y.to(torch.float32))                    # exact widening; half to even
    q = torch.clamp(q, lo, hi).to(torch.int8).reshape(n, k)
    scale = scale.reshape(n) if group == 0 else scale.reshape(n, k // group)
    return q, scale


def dequantize(q, scale, T):
    """codes [n, k] and scales [n] or [n, G] → T(q * scale) as a T tensor [n, k]."""
    n, k = q.shape
    G = 1 if scale.dim() == 1 else scale.shape[1]
    qb = q.to(T).reshape(n, G, k // G)
    return (qb * scale.to(T).reshape(n, G, 1)).reshape(n, k)


def quantize_f64(w, T, bits, group):
    """The same formula in numpy float64, rounding to T after each op (cross-check)."""
    nT = NP_DTYPES[T]
    r = lambda a: np.asarray(a, dtype=np.float64).astype(nT).astype(np.float64)
    x = r(w.detach().to(torch.float64).numpy())            # exact widening, then round to T
    n, k = x.shape
    g = k if group == 0 else group
    b = x.reshape(n, k // g, g)
    amax = np.maximum(np.abs(np.minimum(b.min(-1, keepdims=True), 0.0)),
                      np.maximum(b.max(-1, keepdims=True), 0.0))
    scale = r(amax / DIV[bits])
    scale = np.maximum(scale, float(np.finfo(nT).tiny))
    recip = r(1.0 / scale)
    y = r(b * recip)
    lo, hi = QRANGE[bits]
    q = np.clip(np.rint(y), lo, hi).astype(np.int8).reshape(n, k)
    scale = scale.reshape(n) if group == 0 else scale.reshape(n, k // group)
    return torch.from_numpy(q), torch.from_numpy(scale.astype(nT))


def pack_int4(q):
    """int8 codes in [-8, 7] (any shape) → bytes, element 2k low nibble of byte k (FORMAT.md)."""
    a = (q.reshape(-1).numpy().astype(np.int16) & 0x0F).astype(np.uint8)
    if a.size % 2:
        a = np.concatenate([a, np.zeros(1, np.uint8)])
    return (a[0::2] | (a[1::2] << 4)).astype(np.uint8).tobytes()


def code_bytes(q, bits):
    return pack_int4(q) if bits == 4 else q.reshape(-1).numpy().astype(np.int8).tobytes()


def float_bytes(t):
    """Little-endian bytes of an fp16/fp32 tensor."""
    nT = NP_DTYPES[t.dtype]
    return t.reshape(-1).numpy().astype(np.dtype(nT).newbyteorder("<")).tobytes()


def selfcheck(w, T, bits, group):
    """Requires the torch and float64 implementations to agree exactly; returns (q, scale)."""
    q, s = quantize(w, T, bits, group)
    q2, s2 = quantize_f64(w, T, bits, group)
    if not torch.equal(q, q2) or float_bytes(s) != float_bytes(s2):
        bad = (q != q2).nonzero()
        raise AssertionError("quantization_reference: torch and float64 implementations disagree "
                             "(%s, %d bits, group %d): %d codes differ, first at %s"
                             % (T, bits, group, bad.shape[0], bad[:1].tolist()))
    return q, s


if __name__ == "__main__":
    # a few hand-checked cases
    T = torch.float16
    w = torch.tensor([[7.5, -7.5, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5],
                      [0, 0, 0, 0, 0, 0, 0, 0],
                      [-3.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                      [0.3] * 8])
    q, s = selfcheck(w, T, 4, 0)
    assert q[0].tolist() == [7, -8, 0, 2, 2, 0, -2, -2], q[0]
    assert q[1].tolist() == [0] * 8 and float(s[1]) == 2.0 ** -14
    assert q[2, 0] == -8 and float(s[2]) == float(torch.tensor(3.0 / 7.5, dtype=T))
    assert float(s[0]) == 1.0
    print(q, s)
    print("OK")
