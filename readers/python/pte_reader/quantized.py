"""Weights: float constants, and int8/int4 codes with their scales (FORMAT.md §5)."""
import numpy as np

from .container import tensor_from_bytes
from .errors import FormatError

FLOAT = {"fp32": np.float32, "fp16": np.float16}


def unpack_int4(data, numel):
    """Element 2k in the low nibble of byte k, 2k+1 in the high nibble, two's complement."""
    b = np.frombuffer(data, dtype=np.uint8)
    if b.size != (numel + 1) // 2:
        raise FormatError("int4 codes: %d bytes for %d elements" % (b.size, numel))
    out = np.empty(2 * b.size, dtype=np.int8)
    out[0::2] = (b & 0x0F).astype(np.int8)
    out[1::2] = (b >> 4).astype(np.int8)
    out[out >= 8] -= 16
    return out[:numel]


def codes(data, dtype, shape, where):
    numel = int(np.prod(shape, dtype=object))
    if dtype == "int8":
        if len(data) != numel:
            raise FormatError("%s: %d bytes for %d int8 codes" % (where, len(data), numel))
        return np.frombuffer(data, dtype=np.int8).reshape(shape)
    return unpack_int4(data, numel).reshape(shape)


def dequantize(q, scales, group_size, scales_dtype, where):
    """dequant(q) = round_to_scales_dtype(q × scale): the float32 product rounded once."""
    if scales_dtype not in FLOAT:
        raise FormatError("%s: scales_dtype %s is not fp16 or fp32" % (where, scales_dtype))
    n, k = q.shape[0], q.shape[-1]
    per_row = 1 if group_size == 0 else k // group_size
    if group_size < 0 or (group_size and k % group_size) or scales.size != q.size // k * per_row:
        raise FormatError("%s: %d scales do not fit codes of shape %s with group_size %d"
                          % (where, scales.size, list(q.shape), group_size))
    s = scales.astype(np.float32).reshape(q.shape[:-1] + (per_row, 1))
    x = q.astype(np.float32).reshape(q.shape[:-1] + (per_row, k // per_row)) * s
    return x.reshape(q.shape).astype(FLOAT[scales_dtype])


def constant(pte, value, dtype_names):
    """The tensor a constant Value names, dequantized when quantized (in its scales dtype)."""
    c = value.constant
    where = "%s: constant %s (blob %s)" % (pte.path, value.name, c.blob)
    dtype = dtype_names.get(value.dtype, "invalid")
    shape = tuple(value.shape)
    if dtype in ("int8", "int4"):
        q = codes(pte.raw(c.blob), dtype, shape, where)
        sd = dtype_names.get(c.scales_dtype, "invalid")
        if sd not in FLOAT:
            raise FormatError("%s: scales_dtype %s is not fp16 or fp32" % (where, sd))
        scales = np.frombuffer(pte.raw(c.scales_blob), dtype=np.dtype(FLOAT[sd]).newbyteorder("<"))
        return dequantize(q, scales, c.group_size, sd, where)
    return tensor_from_bytes(pte.raw(c.blob), dtype, list(shape), where)


def weight(pte, key):
    """The weight stored in blob `key` as an operator sees it (dequantized when quantized)."""
    from .graph import DTYPE_NAMES
    if key not in pte.constants:
        raise FormatError("%s: no constant is stored in blob %s" % (pte.path, key))
    return constant(pte, pte.constants[key], DTYPE_NAMES)


def weight_scales(pte, key):
    """The float32 scales of the quantized constant stored in blob `key`: [N] or [N, K/group]."""
    from .graph import DTYPE_NAMES
    v = pte.constants[key]
    sd = FLOAT[DTYPE_NAMES[v.constant.scales_dtype]]
    s = np.frombuffer(pte.raw(v.constant.scales_blob), dtype=np.dtype(sd).newbyteorder("<")).astype(np.float32)
    k = v.shape[-1]
    return s.reshape(v.shape[0], -1) if v.constant.group_size else s
