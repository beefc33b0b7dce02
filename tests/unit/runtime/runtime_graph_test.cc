// Piece graph validation and the method executor: every malformed graph is a pte::Error
// raised before anything runs.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <functional>

#include "common/error.h"
#include "runtime-check/method_executor.h"
#include "tests/unit/runtime/tiny_programs.h"

namespace pte::runtime {
namespace {

using testing::GraphBuilder;
using testing::MethodDesc;
using testing::PteWriter;

// Method "f": x [1, 2, 3] -> y = silu(linear(x, w [2, 3])) [1, 2, 2]; one piece, payload "g".
struct LinearProgram {
  PteWriter writer;
  GraphBuilder graph;
  MethodDesc method;
  LinearProgram() {
    writer.add_floats("w", {1, 0, -1, 0.5f, 0.5f, 0.5f});
    int x = graph.input("x", DType::F32, {1, 2, 3});
    int w = graph.constant("w", DType::F32, {2, 3}, "w");
    int h = graph.op("linear", {x, w}, "h", DType::F32, {1, 2, 2});
    graph.output(graph.op("silu", {h}, "y", DType::F32, {1, 2, 2}));
    method.name = "f";
    method.inputs = {{"x", DType::F32, {1, 2, 3}, fb::IORole::Tokens}};
    method.outputs = {{"y", DType::F32, {1, 2, 2}, fb::IORole::Logits}};
    method.pieces = {{"g", {"x"}, {"y"}}};
  }
  // Writes the program and builds the executor of "f"; throws what either throws.
  void load() {
    writer.add_graph("g", graph.proto());
    writer.add_method(method);
    path = testing::temp_file("graph.pte");
    writer.write(path);
    program = std::make_unique<LoadedProgram>(path);
    executor = std::make_unique<MethodExecutor>(*program, "f");
  }
  std::string path;
  std::unique_ptr<LoadedProgram> program;
  std::unique_ptr<MethodExecutor> executor;
};

TEST(RuntimeGraph, ValidProgramRunsAndChecksItsInputs) {
  LinearProgram p;
  p.load();
  Tensor x = Tensor::from_floats(DType::F32, {1, 2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor* inputs[] = {&x};
  auto out = p.executor->run(inputs);
  ASSERT_EQ(out.size(), 1u);
  // linear -> (-2, 3, -2, 7.5), silu of each.
  auto silu = [](float v) { return v / (1 + std::exp(-v)); };
  std::vector<float> want = {silu(-2), silu(3), silu(-2), silu(7.5f)};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(out[0]->floats[i], want[i], 1e-6);

  Tensor wrong_shape = Tensor::from_floats(DType::F32, {1, 3, 2}, {1, 2, 3, 4, 5, 6});
  const Tensor* bad[] = {&wrong_shape};
  EXPECT_THROW(p.executor->run(bad), Error);
  Tensor wrong_dtype = Tensor::from_floats(DType::F16, {1, 2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor* bad2[] = {&wrong_dtype};
  EXPECT_THROW(p.executor->run(bad2), Error);
  EXPECT_THROW(p.executor->run({}), Error);
}

TEST(RuntimeGraph, QuantizedConstantsAreDequantizedFromTheirScales) {
  // w as int8 codes [[2, 0, -2], [1, 1, 1]] with fp32 scales (0.5, 0.5): the fp32 w of LinearProgram.
  LinearProgram p;
  p.writer.add_blob("w.codes", {2, 0, 0xfe, 1, 1, 1});
  p.writer.add_floats("w.scales", {0.5f, 0.5f});
  graph::Value& w = *p.graph.proto().mutable_values(1);
  w.set_dtype(graph::I8);
  w.mutable_constant()->set_blob("w.codes");
  w.mutable_constant()->set_scales_blob("w.scales");
  w.mutable_constant()->set_scales_dtype(graph::F32);
  p.load();
  EXPECT_EQ(p.executor->pieces()[0].graph.constant_blobs(), (std::vector<std::string>{"w.codes", "w.scales"}));
  Tensor x = Tensor::from_floats(DType::F32, {1, 2, 3}, {1, 2, 3, 4, 5, 6});
  const Tensor* inputs[] = {&x};
  auto silu = [](float v) { return v / (1 + std::exp(-v)); };
  std::vector<float> want = {silu(-2), silu(3), silu(-2), silu(7.5f)};
  auto out = p.executor->run(inputs);
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(out[0]->floats[i], want[i], 1e-6);
}

// Turns value 1 (w) of LinearProgram into int8 codes with scales blob "s" of `scales` floats.
void quantize_w(LinearProgram& p, int64_t group_size, size_t scales, DType codes = DType::I8) {
  p.writer.add_blob("w.codes", std::vector<uint8_t>(codes == DType::I8 ? 6 : 3, 1));
  p.writer.add_floats("s", std::vector<float>(scales, 1.0f));
  graph::Value& w = *p.graph.proto().mutable_values(1);
  w.set_dtype(static_cast<graph::DType>(codes));
  w.mutable_constant()->set_blob("w.codes");
  w.mutable_constant()->set_scales_blob("s");
  w.mutable_constant()->set_group_size(group_size);
  w.mutable_constant()->set_scales_dtype(graph::F32);
}

// select_row then add with alpha: y = 1.5 * x[0, pos, :].
TEST(RuntimeGraph, SelectRowAndAddAlphaRunAndAPositionOutOfRangeIsAnError) {
  PteWriter writer;
  GraphBuilder g;
  int x = g.input("x", DType::F32, {1, 3, 2});
  int pos = g.input("pos", DType::I64, {1});
  int row = g.op("select_row", {x, pos}, "row", DType::F32, {1, 1, 2});
  g.output(g.op("add", {row, row}, "y", DType::F32, {1, 1, 2}, {{"alpha", 0.5}}));
  writer.add_graph("g", g.proto());
  MethodDesc m;
  m.name = "s";
  m.inputs = {{"x", DType::F32, {1, 3, 2}, fb::IORole::Tokens}, {"pos", DType::I64, {1}, fb::IORole::LastValidTokenPos}};
  m.outputs = {{"y", DType::F32, {1, 1, 2}, fb::IORole::Logits}};
  m.pieces = {{"g", {"x", "pos"}, {"y"}}};
  writer.add_method(m);
  std::string path = testing::temp_file("select_row.pte");
  writer.write(path);
  LoadedProgram program(path);
  MethodExecutor executor(program, "s");
  Tensor xs = Tensor::from_floats(DType::F32, {1, 3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor p = Tensor::from_ints(DType::I64, {1}, {2});
  const Tensor* inputs[] = {&xs, &p};
  EXPECT_EQ(executor.run(inputs)[0]->floats, (std::vector<float>{7.5f, 9}));
  p.ints[0] = 3;
  try {
    executor.run(inputs);
    FAIL() << "position 3 of 3 rows accepted";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(path), std::string::npos) << message;
    EXPECT_NE(message.find("select_row"), std::string::npos) << message;
  }
}

struct BadGraph {
  const char* what;
  std::function<void(LinearProgram&)> corrupt;
};

void PrintTo(const BadGraph& b, std::ostream* os) { *os << b.what; }

class RuntimeGraphRejects : public ::testing::TestWithParam<BadGraph> {};

TEST_P(RuntimeGraphRejects, WithAPteError) {
  LinearProgram p;
  GetParam().corrupt(p);
  try {
    p.load();
    FAIL() << "accepted: " << GetParam().what;
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find(p.path), std::string::npos) << "message does not name the file: " << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
  }
}

graph::Node& node(LinearProgram& p, int i) { return *p.graph.proto().mutable_nodes(i); }

const BadGraph kBadGraphs[] = {
    {"unknown op", [](LinearProgram& p) { node(p, 1).set_op("gelu"); }},
    {"constant size mismatch", [](LinearProgram& p) { p.graph.proto().mutable_values(1)->set_shape(0, 3); }},
    {"constant blob missing", [](LinearProgram& p) { p.graph.proto().mutable_values(1)->mutable_constant()->set_blob("nope"); }},
    {"fp32 constant with a group size", [](LinearProgram& p) { p.graph.proto().mutable_values(1)->mutable_constant()->set_group_size(32); }},
    {"quantized with the wrong scale count", [](LinearProgram& p) { quantize_w(p, 0, 3); }},
    {"quantized group not dividing the row", [](LinearProgram& p) { quantize_w(p, 2, 3); }},
    {"quantized negative group", [](LinearProgram& p) { quantize_w(p, -1, 2); }},
    {"quantized without a scales dtype", [](LinearProgram& p) {
       quantize_w(p, 0, 2);
       p.graph.proto().mutable_values(1)->mutable_constant()->set_scales_dtype(graph::INVALID);
     }},
    {"quantized scales in fp16 but blob holds fp32", [](LinearProgram& p) {
       quantize_w(p, 0, 2);
       p.graph.proto().mutable_values(1)->mutable_constant()->set_scales_dtype(graph::F16);
     }},
    {"quantized scales blob missing", [](LinearProgram& p) {
       quantize_w(p, 0, 2);
       p.graph.proto().mutable_values(1)->mutable_constant()->set_scales_blob("nope");
     }},
    {"quantized codes of the wrong size", [](LinearProgram& p) { quantize_w(p, 0, 2, DType::I4); p.writer.add_blob("pad", {}); p.graph.proto().mutable_values(1)->set_dtype(graph::I8); }},
    {"int8 constant without scales", [](LinearProgram& p) {
       p.writer.add_blob("w.codes", std::vector<uint8_t>(6, 1));
       p.graph.proto().mutable_values(1)->set_dtype(graph::I8);
       p.graph.proto().mutable_values(1)->mutable_constant()->set_blob("w.codes");
     }},
    {"input index out of range", [](LinearProgram& p) { node(p, 0).set_inputs(0, 99); }},
    {"negative input index", [](LinearProgram& p) { node(p, 0).set_inputs(0, -1); }},
    {"output index out of range", [](LinearProgram& p) { node(p, 0).set_outputs(0, 99); }},
    {"use before definition", [](LinearProgram& p) { node(p, 0).set_inputs(0, 3); }},
    {"value produced twice", [](LinearProgram& p) { node(p, 1).set_outputs(0, 2); }},
    {"output overwrites a constant", [](LinearProgram& p) { node(p, 1).set_outputs(0, 1); }},
    {"two outputs", [](LinearProgram& p) { node(p, 1).add_outputs(3); }},
    {"wrong input count", [](LinearProgram& p) { node(p, 0).add_inputs(0); }},
    {"linear output shape", [](LinearProgram& p) { p.graph.proto().mutable_values(2)->set_shape(2, 3); }},
    {"output dtype int", [](LinearProgram& p) { p.graph.proto().mutable_values(3)->set_dtype(graph::I32); }},
    {"invalid dtype", [](LinearProgram& p) { p.graph.proto().mutable_values(0)->set_dtype(static_cast<graph::DType>(42)); }},
    {"huge activation", [](LinearProgram& p) {
       auto* v = p.graph.proto().mutable_values(2);
       v->set_shape(0, int64_t{1} << 40);
     }},
    {"negative dimension", [](LinearProgram& p) { p.graph.proto().mutable_values(2)->set_shape(0, -1); }},
    {"opset 3", [](LinearProgram& p) { p.graph.proto().set_opset(3); }},
    {"linear bias in an opset-1 graph", [](LinearProgram& p) {
       p.writer.add_floats("b", {1, 2});
       node(p, 0).add_inputs(p.graph.constant("b", DType::F32, {2}, "b"));
     }},
    {"linear bias of the wrong size", [](LinearProgram& p) {
       p.graph.proto().set_opset(2);
       p.writer.add_floats("b", {1, 2, 3});
       node(p, 0).add_inputs(p.graph.constant("b", DType::F32, {3}, "b"));
     }},
    {"head_rms_norm in an opset-1 graph", [](LinearProgram& p) {
       p.writer.add_floats("hw", {1, 1, 1});
       int w = p.graph.constant("hw", DType::F32, {3}, "hw");
       p.graph.op("head_rms_norm", {0, w}, "n", DType::F32, {1, 2, 3},
                  {{"n_heads", int64_t{1}}, {"head_dim", int64_t{3}}, {"eps", 1e-6}});
     }},
    {"head_rms_norm weight of the wrong size", [](LinearProgram& p) {
       p.graph.proto().set_opset(2);
       p.writer.add_floats("hw", {1, 1, 1});
       int w = p.graph.constant("hw", DType::F32, {3}, "hw");
       p.graph.op("head_rms_norm", {0, w}, "n", DType::F32, {1, 2, 3},
                  {{"n_heads", int64_t{3}}, {"head_dim", int64_t{1}}, {"eps", 1e-6}});
     }},
    {"head_rms_norm without n_heads", [](LinearProgram& p) {
       p.graph.proto().set_opset(2);
       p.writer.add_floats("hw", {1, 1, 1});
       int w = p.graph.constant("hw", DType::F32, {3}, "hw");
       p.graph.op("head_rms_norm", {0, w}, "n", DType::F32, {1, 2, 3}, {{"head_dim", int64_t{3}}, {"eps", 1e-6}});
     }},
    {"graph output never produced", [](LinearProgram& p) { p.graph.proto().mutable_nodes()->RemoveLast(); }},
    {"graph input is a constant", [](LinearProgram& p) { p.graph.proto().add_inputs(1); p.method.pieces[0].inputs.push_back("x"); }},
    {"piece input count differs", [](LinearProgram& p) { p.method.pieces[0].inputs.push_back("x"); }},
    {"piece input undefined", [](LinearProgram& p) { p.method.pieces[0].inputs = {"z"}; }},
    {"method output never produced", [](LinearProgram& p) { p.method.pieces[0].outputs = {"other"}; }},
    {"method output type differs", [](LinearProgram& p) { p.method.outputs[0].dtype = DType::F16; }},
    {"method input type differs", [](LinearProgram& p) { p.method.inputs[0].shape = {1, 2, 4}; }},
    {"unknown backend", [](LinearProgram& p) { p.method.pieces[0].backend = "coreml"; }},
    {"payload is not a protobuf", [](LinearProgram& p) {
       p.writer.add_blob("junk", {0xff, 0xff, 0xff, 0xff, 0x0f});
       p.method.pieces[0].payload = "junk";
     }},
    {"rms_norm without eps", [](LinearProgram& p) { node(p, 1).set_op("rms_norm"); }},
    {"concat axis out of range", [](LinearProgram& p) {
       node(p, 1).set_op("concat");
       auto* a = node(p, 1).add_attributes();
       a->set_name("axis");
       a->set_i(7);
     }},
    {"eps of the wrong type", [](LinearProgram& p) {
       p.writer.add_floats("nw", {1, 1, 1});
       int w = p.graph.constant("nw", DType::F32, {3}, "nw");
       p.graph.op("rms_norm", {0, w}, "n", DType::F32, {1, 2, 3}, {{"eps", int64_t{1}}});
     }},
    {"attention with a wrong mask", [](LinearProgram& p) {
       int q = p.graph.value("q", DType::F32, {1, 1, 2});
       p.graph.proto().add_inputs(q);
       int k = p.graph.input("k", DType::F32, {1, 1, 1, 2});
       int c = p.graph.input("c", DType::F32, {1, 1, 2, 2});
       int m = p.graph.input("m", DType::F32, {1, 1, 2});  // should be [1, 1, 3]
       p.graph.op("attention", {q, k, k, c, c, m}, "a", DType::F32, {1, 1, 2},
                  {{"n_heads", int64_t{1}}, {"n_kv_heads", int64_t{1}}, {"head_dim", int64_t{2}}});
     }},
    {"attention heads not a multiple", [](LinearProgram& p) {
       int q = p.graph.input("q", DType::F32, {1, 1, 6});
       int k = p.graph.input("k", DType::F32, {1, 2, 1, 2});
       int c = p.graph.input("c", DType::F32, {1, 2, 0, 2});
       int m = p.graph.input("m", DType::F32, {1, 1, 1});
       p.graph.op("attention", {q, k, k, c, c, m}, "a", DType::F32, {1, 1, 6},
                  {{"n_heads", int64_t{3}}, {"n_kv_heads", int64_t{2}}, {"head_dim", int64_t{2}}});
     }},
    {"select_row with an int32 position", [](LinearProgram& p) {
       int pos = p.graph.input("pos", DType::I32, {1});
       p.graph.op("select_row", {0, pos}, "r", DType::F32, {1, 1, 3});
     }},
    {"select_row with two positions", [](LinearProgram& p) {
       int pos = p.graph.input("pos", DType::I64, {2});
       p.graph.op("select_row", {0, pos}, "r", DType::F32, {1, 1, 3});
     }},
    {"select_row of a rank-2 value", [](LinearProgram& p) {
       int x = p.graph.input("x2", DType::F32, {2, 3});
       int pos = p.graph.input("pos", DType::I64, {1});
       p.graph.op("select_row", {x, pos}, "r", DType::F32, {1, 1, 3});
     }},
    {"select_row output of two rows", [](LinearProgram& p) {
       int pos = p.graph.input("pos", DType::I64, {1});
       p.graph.op("select_row", {0, pos}, "r", DType::F32, {1, 2, 3});
     }},
    {"select_row with one input", [](LinearProgram& p) { p.graph.op("select_row", {0}, "r", DType::F32, {1, 1, 3}); }},
    {"add alpha of the wrong type", [](LinearProgram& p) {
       p.graph.op("add", {0, 0}, "s", DType::F32, {1, 2, 3}, {{"alpha", int64_t{2}}});
     }},
    {"add alpha not finite", [](LinearProgram& p) {
       p.graph.op("add", {0, 0}, "s", DType::F32, {1, 2, 3}, {{"alpha", std::nan("")}});
     }},
};

INSTANTIATE_TEST_SUITE_P(Cases, RuntimeGraphRejects, ::testing::ValuesIn(kBadGraphs),
                         [](const ::testing::TestParamInfo<BadGraph>& info) {
                           std::string name;
                           for (const char* c = info.param.what; *c; ++c) name += std::isalnum(*c) ? *c : '_';
                           return name;
                         });

}  // namespace
}  // namespace pte::runtime
