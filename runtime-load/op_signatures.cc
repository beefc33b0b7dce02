#include "runtime-load/op_signatures.h"

#include <cmath>

namespace pte::runtime {
namespace {

struct OpInfo {
  Op op;
  const char* name;
};

constexpr OpInfo kOps[] = {
    {Op::Embedding, "embedding"}, {Op::RmsNorm, "rms_norm"}, {Op::Linear, "linear"},
    {Op::Concat, "concat"},       {Op::Rope, "rope"},        {Op::ToHeads, "to_heads"},
    {Op::Attention, "attention"}, {Op::Add, "add"},          {Op::Mul, "mul"},
    {Op::Silu, "silu"},           {Op::SelectRow, "select_row"}, {Op::HeadRmsNorm, "head_rms_norm"},
};

const graph::Attribute* find_attribute(const graph::Node& node, std::string_view name) {
  for (const graph::Attribute& a : node.attributes())
    if (a.name() == name) return &a;
  return nullptr;
}

std::string read_int(const graph::Node& node, const char* name, int64_t& out) {
  const graph::Attribute* a = find_attribute(node, name);
  if (!a) return std::string("missing attribute '") + name + "'";
  if (a->value_case() != graph::Attribute::kI) return std::string("attribute '") + name + "' is not an int";
  out = a->i();
  return "";
}

std::string describe(const GraphValue& v) {
  return "'" + v.name + "' " + dtype_name(v.dtype) + " " + shape_string(v.shape);
}

std::string expect_shape(const char* role, const GraphValue& v, const Shape& expected) {
  if (v.shape == expected) return "";
  return std::string(role) + " " + describe(v) + ", expected shape " + shape_string(expected);
}

// [1, T, n*D] with n*D checked without overflow; sets T.
std::string expect_token_rows(const char* role, const GraphValue& v, int64_t n, int64_t d, int64_t& t) {
  if (v.shape.size() != 3 || v.shape[0] != 1 || v.shape[2] % d != 0 || v.shape[2] / d != n)
    return std::string(role) + " " + describe(v) + ", expected [1, T, " + std::to_string(n) + "*" +
           std::to_string(d) + "]";
  t = v.shape[1];
  return "";
}

std::string check_heads(const OpAttributes& a, bool with_kv) {
  if (a.n_heads < 1 || a.head_dim < 1 || (with_kv && a.n_kv_heads < 1))
    return "head counts and head_dim must be positive";
  if (with_kv && a.n_heads % a.n_kv_heads != 0)
    return "n_heads " + std::to_string(a.n_heads) + " is not a multiple of n_kv_heads " +
           std::to_string(a.n_kv_heads);
  return "";
}

}  // namespace

std::optional<Op> op_from_name(std::string_view name) {
  for (const OpInfo& info : kOps)
    if (name == info.name) return info.op;
  return std::nullopt;
}

const char* op_name(Op op) {
  for (const OpInfo& info : kOps)
    if (op == info.op) return info.name;
  return "?";
}

uint32_t required_opset(Op op, size_t n_inputs) {
  return op == Op::HeadRmsNorm || (op == Op::Linear && n_inputs == 3) ? 2 : 1;
}

std::string read_attributes(Op op, const graph::Node& node, OpAttributes& out) {
  switch (op) {
    case Op::HeadRmsNorm:
      if (std::string e = read_int(node, "n_heads", out.n_heads); !e.empty()) return e;
      if (std::string e = read_int(node, "head_dim", out.head_dim); !e.empty()) return e;
      [[fallthrough]];
    case Op::RmsNorm: {
      const graph::Attribute* a = find_attribute(node, "eps");
      if (!a) return "missing attribute 'eps'";
      if (a->value_case() != graph::Attribute::kF) return "attribute 'eps' is not a float";
      if (!std::isfinite(a->f()) || a->f() < 0) return "attribute 'eps' must be finite and >= 0";
      out.eps = a->f();
      return "";
    }
    case Op::Concat: return read_int(node, "axis", out.axis);
    case Op::Add: {  // optional: absent means 1
      const graph::Attribute* a = find_attribute(node, "alpha");
      if (!a) return "";
      if (a->value_case() != graph::Attribute::kF) return "attribute 'alpha' is not a float";
      if (!std::isfinite(a->f())) return "attribute 'alpha' must be finite";
      out.alpha = a->f();
      return "";
    }
    case Op::Attention:
      if (std::string e = read_int(node, "n_kv_heads", out.n_kv_heads); !e.empty()) return e;
      [[fallthrough]];
    case Op::Rope:
    case Op::ToHeads:
      if (std::string e = read_int(node, "n_heads", out.n_heads); !e.empty()) return e;
      return read_int(node, "head_dim", out.head_dim);
    default: return "";
  }
}

std::string check_signature(Op op, std::span<const GraphValue* const> in, const GraphValue& out,
                            OpAttributes& a) {
  size_t expected_inputs = 0;
  switch (op) {
    case Op::Embedding: case Op::RmsNorm: case Op::Add: case Op::Mul: case Op::SelectRow: case Op::HeadRmsNorm:
      expected_inputs = 2; break;
    case Op::Linear: expected_inputs = in.size() == 3 ? 3 : 2; break;  // optional bias
    case Op::Rope: expected_inputs = 3; break;
    case Op::Attention: expected_inputs = 6; break;
    case Op::ToHeads: case Op::Silu: expected_inputs = 1; break;
    case Op::Concat: expected_inputs = in.empty() ? 1 : in.size(); break;
  }
  if (in.size() != expected_inputs)
    return "has " + std::to_string(in.size()) + " inputs, expected " + std::to_string(expected_inputs);
  for (size_t i = 0; i < in.size(); ++i) {
    bool is_integer = (op == Op::Embedding || op == Op::SelectRow) && i == 1;
    if (!is_integer && !in[i]->is_float_like())
      return "input " + std::to_string(i) + " " + describe(*in[i]) + " must be fp32, fp16, bf16 or quantized";
  }
  if (!is_float(out.dtype)) return "output " + describe(out) + " must be fp32, fp16 or bf16";

  switch (op) {
    case Op::Embedding: {
      const GraphValue &table = *in[0], &tokens = *in[1];
      if (table.shape.size() != 2) return "table " + describe(table) + ", expected [V, D]";
      if (tokens.dtype != DType::I32 || tokens.shape.size() != 2 || tokens.shape[0] != 1)
        return "tokens " + describe(tokens) + ", expected int32 [1, T]";
      return expect_shape("output", out, {1, tokens.shape[1], table.shape[1]});
    }
    case Op::RmsNorm: {
      const GraphValue &x = *in[0], &w = *in[1];
      if (x.shape.empty()) return "x " + describe(x) + ", expected [..., D]";
      if (std::string e = expect_shape("weight", w, {x.shape.back()}); !e.empty()) return e;
      return expect_shape("output", out, x.shape);
    }
    case Op::Linear: {
      const GraphValue &x = *in[0], &w = *in[1];
      if (x.shape.empty()) return "x " + describe(x) + ", expected [..., K]";
      if (w.shape.size() != 2 || w.shape[1] != x.shape.back())
        return "weight " + describe(w) + ", expected [N, " + std::to_string(x.shape.back()) + "]";
      if (in.size() == 3)
        if (std::string e = expect_shape("bias", *in[2], {w.shape[0]}); !e.empty()) return e;
      Shape expected = x.shape;
      expected.back() = w.shape[0];
      return expect_shape("output", out, expected);
    }
    case Op::Concat: {
      int64_t rank = static_cast<int64_t>(in[0]->shape.size());
      if (rank == 0) return "input 0 is a scalar";
      if (a.axis < -rank || a.axis >= rank)
        return "axis " + std::to_string(a.axis) + " is out of range for rank " + std::to_string(rank);
      if (a.axis < 0) a.axis += rank;
      Shape expected = in[0]->shape;
      for (size_t i = 1; i < in.size(); ++i) {
        const Shape& s = in[i]->shape;
        bool same = static_cast<int64_t>(s.size()) == rank;
        for (int64_t d = 0; same && d < rank; ++d)
          if (d != a.axis && s[d] != expected[d]) same = false;
        if (!same)
          return "input " + std::to_string(i) + " " + describe(*in[i]) +
                 " does not match input 0 except along axis " + std::to_string(a.axis);
        expected[a.axis] += s[a.axis];  // each is bounded by kMaxTensorElements: no overflow
      }
      return expect_shape("output", out, expected);
    }
    case Op::Rope: {
      if (std::string e = check_heads(a, false); !e.empty()) return e;
      if (a.head_dim % 2 != 0) return "head_dim " + std::to_string(a.head_dim) + " is odd";
      int64_t t = 0;
      if (std::string e = expect_token_rows("x", *in[0], a.n_heads, a.head_dim, t); !e.empty()) return e;
      if (std::string e = expect_shape("cos", *in[1], {t, a.head_dim / 2}); !e.empty()) return e;
      if (std::string e = expect_shape("sin", *in[2], {t, a.head_dim / 2}); !e.empty()) return e;
      return expect_shape("output", out, in[0]->shape);
    }
    case Op::HeadRmsNorm: {
      if (std::string e = check_heads(a, false); !e.empty()) return e;
      int64_t t = 0;
      if (std::string e = expect_token_rows("x", *in[0], a.n_heads, a.head_dim, t); !e.empty()) return e;
      if (std::string e = expect_shape("weight", *in[1], {a.head_dim}); !e.empty()) return e;
      return expect_shape("output", out, in[0]->shape);
    }
    case Op::ToHeads: {
      if (std::string e = check_heads(a, false); !e.empty()) return e;
      int64_t t = 0;
      if (std::string e = expect_token_rows("x", *in[0], a.n_heads, a.head_dim, t); !e.empty()) return e;
      return expect_shape("output", out, {1, a.n_heads, t, a.head_dim});
    }
    case Op::Attention: {
      if (std::string e = check_heads(a, true); !e.empty()) return e;
      int64_t t = 0;
      if (std::string e = expect_token_rows("q", *in[0], a.n_heads, a.head_dim, t); !e.empty()) return e;
      Shape new_kv = {1, a.n_kv_heads, t, a.head_dim};
      if (std::string e = expect_shape("k", *in[1], new_kv); !e.empty()) return e;
      if (std::string e = expect_shape("v", *in[2], new_kv); !e.empty()) return e;
      const GraphValue& kc = *in[3];
      if (kc.shape.size() != 4) return "k_cache " + describe(kc) + ", expected [1, Hkv, C, D]";
      int64_t c = kc.shape[2];
      Shape cache = {1, a.n_kv_heads, c, a.head_dim};
      if (std::string e = expect_shape("k_cache", kc, cache); !e.empty()) return e;
      if (std::string e = expect_shape("v_cache", *in[4], cache); !e.empty()) return e;
      if (std::string e = expect_shape("mask", *in[5], {1, t, c + t}); !e.empty()) return e;
      return expect_shape("output", out, in[0]->shape);
    }
    case Op::Add:
    case Op::Mul:
      if (in[1]->shape != in[0]->shape)
        return "inputs " + describe(*in[0]) + " and " + describe(*in[1]) + " differ in shape";
      return expect_shape("output", out, in[0]->shape);
    case Op::Silu: return expect_shape("output", out, in[0]->shape);
    case Op::SelectRow: {
      const GraphValue &x = *in[0], &pos = *in[1];
      if (x.shape.size() != 3 || x.shape[0] != 1) return "x " + describe(x) + ", expected [1, T, D]";
      if (pos.dtype != DType::I64 || pos.shape != Shape{1}) return "pos " + describe(pos) + ", expected int64 [1]";
      return expect_shape("output", out, {1, 1, x.shape[2]});
    }
  }
  return "unknown operator";
}

}  // namespace pte::runtime
