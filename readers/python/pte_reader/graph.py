"""Running a method in numpy: its pieces in order, each a PieceGraph of FORMAT.md §5 ops.
Every op reads its inputs as float32, computes in float32 (accumulating dot products in
float64, then rounding to float32) and rounds each output element once to its value's dtype."""
import numpy as np

from . import schema
from .errors import FormatError
from .quantized import FLOAT, constant

DTYPE_NAMES = {1: "fp32", 2: "fp16", 3: "bf16", 4: "int32", 5: "int64", 6: "int8", 7: "uint8", 8: "int4"}


def f32(x):
    return np.asarray(x, dtype=np.float32)


def attrs(node):
    out = {}
    for a in node.attributes:
        out[a.name] = getattr(a, a.WhichOneof("value")) if a.WhichOneof("value") else None
    return out


def rms(x, w, eps):
    x = f32(x)
    ms = (np.einsum("...i,...i->...", x.astype(np.float64), x.astype(np.float64)) / x.shape[-1]).astype(np.float32)
    return x / np.sqrt(ms + np.float32(eps))[..., None], f32(w)


def op_embedding(ins, a, out_dtype):
    table, tokens = ins
    t = np.asarray(tokens).reshape(-1)
    if t.size and (t.min() < 0 or t.max() >= table.shape[0]):
        raise FormatError("embedding: token outside [0, %d)" % table.shape[0])
    return f32(table)[t][None]


def op_rms_norm(ins, a, out_dtype):
    n, w = rms(ins[0], ins[1], a["eps"])
    return f32(n.astype(out_dtype)) * w


def op_head_rms_norm(ins, a, out_dtype):
    x = f32(ins[0])
    h, d = a["n_heads"], a["head_dim"]
    n, w = rms(x.reshape(x.shape[:-1] + (h, d)), ins[1], a["eps"])
    return (f32(n.astype(out_dtype)) * w).reshape(x.shape)


def op_linear(ins, a, out_dtype):
    y = (f32(ins[0]).astype(np.float64) @ f32(ins[1]).astype(np.float64).T).astype(np.float32)
    if len(ins) == 3:
        y = y + f32(ins[2])
    return y


def op_concat(ins, a, out_dtype):
    return np.concatenate([f32(x) for x in ins], axis=a["axis"])


def op_rope(ins, a, out_dtype):
    x, cos, sin = f32(ins[0]), f32(ins[1]), f32(ins[2])
    h, d = a["n_heads"], a["head_dim"]
    t = x.shape[1]
    xr = x.reshape(1, t, h, d // 2, 2)
    c, s = cos[None, :, None, :], sin[None, :, None, :]
    ev, od = xr[..., 0], xr[..., 1]
    return np.stack([ev * c - od * s, ev * s + od * c], axis=-1).reshape(x.shape)


def op_to_heads(ins, a, out_dtype):
    x = f32(ins[0])
    return x.reshape(1, x.shape[1], a["n_heads"], a["head_dim"]).transpose(0, 2, 1, 3)


def op_attention(ins, a, out_dtype):
    q, k, v, kc, vc, mask = (f32(x) for x in ins)
    hq, hkv, d = a["n_heads"], a["n_kv_heads"], a["head_dim"]
    t = q.shape[1]
    qh = q.reshape(t, hq, d).transpose(1, 0, 2).astype(np.float64)  # [Hq, T, D]
    keys = np.concatenate([kc[0], k[0]], axis=1).astype(np.float64)  # [Hkv, C+T, D]
    vals = np.concatenate([vc[0], v[0]], axis=1).astype(np.float64)
    g = np.arange(hq) // (hq // hkv)
    s = (np.einsum("htd,hjd->htj", qh, keys[g]).astype(np.float32) / np.float32(np.sqrt(d))) + mask[0][None]
    s = s - s.max(axis=-1, keepdims=True)
    p = np.exp(s)
    p = p / p.sum(axis=-1, keepdims=True, dtype=np.float32)
    o = np.einsum("htj,hjd->htd", p.astype(np.float64), vals[g]).astype(np.float32)
    return o.transpose(1, 0, 2).reshape(1, t, hq * d)


def op_add(ins, a, out_dtype):
    return f32(ins[0]) + np.float32(a.get("alpha", 1.0)) * f32(ins[1])


def op_mul(ins, a, out_dtype):
    return f32(ins[0]) * f32(ins[1])


def op_silu(ins, a, out_dtype):
    x = f32(ins[0])
    return x / (np.float32(1) + np.exp(-x))


def op_select_row(ins, a, out_dtype):
    x, pos = f32(ins[0]), int(np.asarray(ins[1]).reshape(-1)[0])
    if not 0 <= pos < x.shape[1]:
        raise FormatError("select_row: pos %d outside [0, %d)" % (pos, x.shape[1]))
    return x[:, pos:pos + 1, :]


OPS = {name[3:]: f for name, f in globals().items() if name.startswith("op_")}


def run_graph(pte, g, inputs, where):
    """Runs one PieceGraph on `inputs` (numpy arrays, graph input order); returns its outputs."""
    if g.opset not in (1, 2):
        raise FormatError("%s: opset %d is not 1 or 2" % (where, g.opset))
    vals = [None] * len(g.values)
    for i, x in zip(g.inputs, inputs):
        vals[i] = x
    for i, v in enumerate(g.values):
        if v.HasField("constant"):
            vals[i] = constant(pte, v, DTYPE_NAMES)
    for node in g.nodes:
        f = OPS.get(node.op)
        if f is None:
            raise FormatError("%s: unknown op %s" % (where, node.op))
        out = g.values[node.outputs[0]]
        dt = FLOAT.get(DTYPE_NAMES.get(out.dtype))
        if dt is None:
            raise FormatError("%s: op %s output %s is not fp16/fp32" % (where, node.op, out.name))
        y = f([vals[i] for i in node.inputs], attrs(node), dt)
        if list(y.shape) != list(out.shape):
            raise FormatError("%s: op %s gives shape %s, value %s declares %s"
                              % (where, node.op, list(y.shape), out.name, list(out.shape)))
        vals[node.outputs[0]] = f32(y).astype(dt)
    return [vals[i] for i in g.outputs]


def run_method(pte, name, inputs):
    """Runs method `name` on {input name: array}; returns {output name: array}."""
    m = pte.methods.get(name)
    if m is None:
        raise FormatError("%s: no method %s (have %s)" % (pte.path, name, ", ".join(pte.methods)))
    env = dict(inputs)
    for k, pc in enumerate(m["pieces"]):
        where = "%s: method %s piece %d (%s)" % (pte.path, name, k, pc["payload"])
        if pc["backend"] != "pte.graph.v1":
            raise FormatError("%s: backend %s is not pte.graph.v1" % (where, pc["backend"]))
        g = pte.graph(pc["payload"])
        missing = [n for n in pc["inputs"] if n not in env]
        if missing:
            raise FormatError("%s: inputs %s are not produced before it" % (where, missing))
        outs = run_graph(pte, g, [env[n] for n in pc["inputs"]], where)
        env.update(zip(pc["outputs"], outs))
    return {o["name"]: env[o["name"]] for o in m["outputs"]}
