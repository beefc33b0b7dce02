#include "runner/runner_layout.h"

#include <string>
#include <vector>

#include "schema/metadata_keys.h"

namespace pte::runtime {
namespace {

// Multifunction methods carry their per-method metadata under a decode_/prefill_ prefix (SPEC §4).
std::string method_key(fb::MethodRole role, const std::string& base) {
  if (role == fb::MethodRole::Decode) return meta::kDecodePrefix + base;
  if (role == fb::MethodRole::Prefill) return meta::kPrefillPrefix + base;
  return base;
}

}  // namespace

RunnerLayout resolve_runner_layout(const LoadedProgram& program, const MethodGraph& executor) {
  const auto& ins = executor.inputs();
  const auto& outs = executor.outputs();
  const fb::MethodRole role = executor.method().role();
  const std::string where = "method '" + executor.name() + "'";
  auto fail = [&](const std::string& what) { program.fail(where + ": " + what); };
  std::vector<bool> bound(ins.size(), false);

  auto input = [&](int64_t index, fb::IORole expected, const char* what) -> size_t {
    if (index < 0 || static_cast<size_t>(index) >= ins.size())
      fail(std::string(what) + " input index " + std::to_string(index) + " is out of range (" +
           std::to_string(ins.size()) + " inputs)");
    const IoSpec& s = ins[index];
    if (s.role != expected)
      fail(std::string(what) + " input " + std::to_string(index) + " '" + s.name + "' has role " +
           fb::EnumNameIORole(s.role) + ", expected " + fb::EnumNameIORole(expected));
    if (bound[index]) fail("input " + std::to_string(index) + " '" + s.name + "' is bound twice");
    bound[index] = true;
    return static_cast<size_t>(index);
  };
  auto output = [&](int64_t index, fb::IORole expected, const char* what) -> size_t {
    if (index < 0 || static_cast<size_t>(index) >= outs.size())
      fail(std::string(what) + " output index " + std::to_string(index) + " is out of range");
    if (outs[index].role != expected)
      fail(std::string(what) + " output " + std::to_string(index) + " '" + outs[index].name + "' has role " +
           fb::EnumNameIORole(outs[index].role) + ", expected " + fb::EnumNameIORole(expected));
    return static_cast<size_t>(index);
  };
  auto expect_shape = [&](const IoSpec& s, const Shape& shape, bool float_dtype) {
    if (s.shape != shape || is_float(s.dtype) != float_dtype)
      fail("'" + s.name + "' is " + dtype_name(s.dtype) + " " + shape_string(s.shape) + ", expected " +
           (float_dtype ? "a float " : "int32 ") + shape_string(shape));
  };

  // Tokens, logits and last_valid_token_pos are found by role; everything else by the
  // metadata's indices.
  auto find_role = [](const std::vector<IoSpec>& specs, fb::IORole role) {
    std::vector<size_t> found;
    for (size_t i = 0; i < specs.size(); ++i)
      if (specs[i].role == role) found.push_back(i);
    return found;
  };
  auto token_inputs = find_role(ins, fb::IORole::Tokens);
  auto logits_outputs = find_role(outs, fb::IORole::Logits);
  auto last_pos_inputs = find_role(ins, fb::IORole::LastValidTokenPos);
  if (token_inputs.size() != 1 || logits_outputs.size() != 1)
    fail("expected exactly one Tokens input and one Logits output");
  if (last_pos_inputs.size() > 1) fail("has more than one LastValidTokenPos input");
  RunnerLayout L;
  L.tokens_input = input(static_cast<int64_t>(token_inputs[0]), fb::IORole::Tokens, "tokens");
  const IoSpec& tokens = ins[L.tokens_input];
  if (tokens.shape.size() != 2 || tokens.shape[0] != 1 || tokens.shape[1] < 1 || tokens.dtype != DType::I32)
    fail("tokens input '" + tokens.name + "' is " + dtype_name(tokens.dtype) + " " + shape_string(tokens.shape) +
         ", expected int32 [1, T]");
  L.input_len = tokens.shape[1];
  // Adapter methods use the keys of their role: a Full method's T is forward_input_len.
  const std::string len_key = role == fb::MethodRole::Full ? meta::kForwardInputLen : method_key(role, meta::kInputLenSuffix);
  if (program.has_metadata(len_key) && program.metadata_int(len_key) != L.input_len)
    fail("tokens input has T = " + std::to_string(L.input_len) + " but metadata " + len_key + " is " +
         std::to_string(program.metadata_int(len_key)));

  L.vocab_size = program.metadata_int(meta::kVocabSize);
  L.head_dim = program.metadata_int(meta::kHeadDim);
  L.kv_heads = program.metadata_int(meta::kHeadsPerCache);
  if (L.vocab_size < 1) fail("metadata vocab_size " + std::to_string(L.vocab_size) + " is not positive");

  IntTensorValue mask_specs = program.metadata_int_tensor(method_key(role, meta::kMaskSpecs));
  if (mask_specs.shape != Shape{1, 2})
    fail("metadata mask_specs has shape " + shape_string(mask_specs.shape) + ", expected [1, 2]");
  L.mask_input = input(mask_specs.values[0], fb::IORole::Mask, "mask");
  L.cache_len = mask_specs.values[1];
  if (L.cache_len < 0 || L.cache_len > kMaxTensorElements) fail("mask_specs cache_len is out of range");
  expect_shape(ins[L.mask_input], {1, L.input_len, L.cache_len + L.input_len}, true);

  IntTensorValue kv = program.metadata_int_tensor(method_key(role, meta::kKvCacheSpecs));
  if (kv.shape.size() != 2 || kv.shape[1] != 5)
    fail("metadata kv_cache_specs has shape " + shape_string(kv.shape) + ", expected [L, 5]");
  if (program.has_metadata(meta::kLayers) && program.metadata_int(meta::kLayers) != kv.shape[0])
    fail("metadata kv_cache_specs has " + std::to_string(kv.shape[0]) + " rows but n_layers is " +
         std::to_string(program.metadata_int(meta::kLayers)));
  const Shape cache_shape = {1, L.kv_heads, L.cache_len, L.head_dim};
  const Shape update_shape = {1, L.kv_heads, L.input_len, L.head_dim};
  for (int64_t l = 0; l < kv.shape[0]; ++l) {
    const int64_t* row = kv.values.data() + l * 5;
    if (row[4] != L.cache_len)
      fail("kv_cache_specs row " + std::to_string(l) + " has cache_len " + std::to_string(row[4]) +
           " but mask_specs has " + std::to_string(L.cache_len));
    RunnerLayout::Layer layer{input(row[0], fb::IORole::KCache, "k cache"), output(row[1], fb::IORole::KUpdate, "k update"),
                              input(row[2], fb::IORole::VCache, "v cache"), output(row[3], fb::IORole::VUpdate, "v update")};
    expect_shape(ins[layer.k_in], cache_shape, true);
    expect_shape(ins[layer.v_in], cache_shape, true);
    expect_shape(outs[layer.k_out], update_shape, true);
    expect_shape(outs[layer.v_out], update_shape, true);
    L.layers.push_back(layer);
  }

  auto index_key = [&](const std::string& base) {
    std::string key = method_key(role, base);
    return program.has_metadata(key) ? key : base;
  };
  L.cos_input = input(program.metadata_int(index_key(meta::kFreqsCosInputIndex)), fb::IORole::FreqsCos, "freqs_cos");
  L.sin_input = input(program.metadata_int(index_key(meta::kFreqsSinInputIndex)), fb::IORole::FreqsSin, "freqs_sin");
  if (L.head_dim < 2 || L.head_dim % 2 != 0) fail("metadata head_dim " + std::to_string(L.head_dim) + " is not even");
  expect_shape(ins[L.cos_input], {L.input_len, L.head_dim / 2}, true);
  expect_shape(ins[L.sin_input], {L.input_len, L.head_dim / 2}, true);
  const Tensor cos_table = program.metadata_blob_tensor(meta::kFreqsCos);
  const Tensor sin_table = program.metadata_blob_tensor(meta::kFreqsSin);
  for (const Tensor* table : {&cos_table, &sin_table})
    if (!is_float(table->dtype) || table->shape.size() != 2 || table->shape[1] != L.head_dim / 2 ||
        table->shape != cos_table.shape)
      fail("metadata freqs tables are " + std::string(dtype_name(table->dtype)) + " " + shape_string(table->shape) +
           ", expected float [max_context_len, " + std::to_string(L.head_dim / 2) + "]");
  L.max_context_len = cos_table.shape[0];
  if (program.has_metadata(meta::kMaxContextLen) && program.metadata_int(meta::kMaxContextLen) != L.max_context_len)
    fail("metadata max_context_len is " + std::to_string(program.metadata_int("max_context_len")) +
         " but the freqs tables have " + std::to_string(L.max_context_len) + " rows");

  if (!last_pos_inputs.empty()) {
    L.last_pos_input = input(static_cast<int64_t>(last_pos_inputs[0]), fb::IORole::LastValidTokenPos,
                             "last_valid_token_pos");
    const IoSpec& s = ins[*L.last_pos_input];
    if (s.dtype != DType::I64 || s.shape != Shape{1})
      fail("last_valid_token_pos input '" + s.name + "' is " + dtype_name(s.dtype) + " " + shape_string(s.shape) +
           ", expected int64 [1]");
  }
  L.logits_rows = L.last_pos_input ? 1 : L.input_len;

  L.logits_output = output(static_cast<int64_t>(logits_outputs[0]), fb::IORole::Logits, "logits");
  const IoSpec& logits = outs[L.logits_output];
  if (logits.shape != Shape{1, L.logits_rows, L.vocab_size} || !is_float(logits.dtype))
    fail("logits output '" + logits.name + "' is " + dtype_name(logits.dtype) + " " + shape_string(logits.shape) +
         ", expected float [1, " + std::to_string(L.logits_rows) + ", " + std::to_string(L.vocab_size) +
         "] (vocab_size from metadata" + (L.last_pos_input ? "; one row with last_valid_token_pos)" : ")"));
  for (size_t i = 0; i < ins.size(); ++i)
    if (!bound[i]) fail("input " + std::to_string(i) + " '" + ins[i].name + "' is not described by the metadata");
  return L;
}

}  // namespace pte::runtime
