#pragma once
// A whole export: methods (each a graph, later cut into pieces), the weight recipes their
// constants refer to, and the runner metadata. This is what passes transform and the packer
// writes; its shape mirrors schema/pte.fbs.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "exporter/program/graph.h"
#include "exporter/program/weight_recipe.h"

namespace pte {

enum class MethodRole : uint8_t { Full = 0, Decode = 1, Prefill = 2 };

enum class IORole : uint8_t {
  Tokens = 0, Mask = 1, FreqsCos = 2, FreqsSin = 3, KCache = 4, VCache = 5,
  LastValidTokenPos = 6, Logits = 7, KUpdate = 8, VUpdate = 9,
};

struct IOSpec {
  std::string name;
  DType dtype = DType::Invalid;
  Shape shape;
  IORole role = IORole::Tokens;
  int layer = -1;
};

// A contiguous run of a method's nodes, executed as one unit. `inputs`/`outputs` are
// method-level value names; `graph` is self-contained (its inputs/outputs match them in order).
struct Piece {
  std::string name;
  Graph graph;
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
};

struct Method {
  std::string name;
  MethodRole role = MethodRole::Full;
  std::vector<IOSpec> inputs;   // graph.inputs[i] is inputs[i]
  std::vector<IOSpec> outputs;  // graph.outputs[i] is outputs[i]
  Graph graph;
  std::vector<Piece> pieces;  // filled by the graph-breaks pass
  std::string adapter;
};

struct IntTensor {
  Shape shape;
  std::vector<int64_t> values;
};
struct TextValue {
  std::string text;
};
struct BytesTensor {  // stored as a blob named by the metadata key
  DType dtype;
  Shape shape;
  std::vector<uint8_t> bytes;
};
using MetaValue = std::variant<IntTensor, TextValue, BytesTensor>;

// Per linear weight source tensor: the mean square of each input channel over the calibration
// tokens (--calibration); the scale search weights its error by them.
using LinearImportances = std::map<std::string, std::shared_ptr<const std::vector<float>>>;
// Per linear weight source tensor: Σ x xᵀ of its input (--quant_search gptq, gptq.h); linears
// that read the same input share one.
using LinearHessians = std::map<std::string, std::shared_ptr<const ColumnHessian>>;

struct Program {
  std::vector<Method> methods;
  std::map<std::string, WeightRecipe> weights;  // by WeightRecipe::key()
  std::map<std::string, MetaValue> metadata;
  std::vector<std::string> log;  // what the builder and passes did, for --verbose and notes
  LinearImportances importances;  // from --calibration with --quant_search mse; empty without
  LinearHessians hessians;        // from --calibration with --quant_search gptq; empty without

  // Registers a recipe (once per key) and returns its key.
  std::string add_weight(WeightRecipe recipe);
};

inline IntTensor int_scalar(int64_t v) { return IntTensor{{}, {v}}; }

}  // namespace pte
