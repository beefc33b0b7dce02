#include "exporter/calibration/calibration.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "common/error.h"
#include "common/regular_file.h"
#include "common/sha256.h"
#include "exporter/program/gptq.h"
#include "exporter/reference/reference_program.h"
#include "exporter/tokenizer/tokenizer_files.h"
#include "runner/runner.h"
#include "runtime-check/method_executor.h"
#include "schema/metadata_keys.h"
#include "tokenizers/tokenizer.h"

namespace pte {
namespace {

constexpr size_t kMaxCalibrationBytes = size_t{64} << 20;

std::string read_file(const std::string& path) {
  RegularFile f(path);
  if (f.size() > kMaxCalibrationBytes)
    throw Error(path + ": a calibration file is at most 64 MiB, found " + std::to_string(f.size()) + " bytes");
  std::string bytes(f.size(), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(f.fd(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n <= 0) throw Error(path + ": read failed");
    done += static_cast<size_t>(n);
  }
  return bytes;
}

std::vector<int32_t> parse_ids(const std::string& path, const std::string& text) {
  std::vector<int32_t> ids;
  size_t i = 0;
  auto separator = [](char c) { return c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (i < text.size()) {
    if (separator(text[i])) {
      ++i;
      continue;
    }
    size_t end = i;
    while (end < text.size() && !separator(text[end])) ++end;
    int64_t id = -1;
    auto [p, ec] = std::from_chars(text.data() + i, text.data() + end, id);
    if (ec != std::errc() || p != text.data() + end || id < 0 || id > INT32_MAX)
      throw Error(path + ": expected token ids (decimal, separated by whitespace or commas), found '" +
                  text.substr(i, std::min<size_t>(end - i, 40)) + "'");
    ids.push_back(static_cast<int32_t>(id));
    i = end;
  }
  return ids;
}

// Per linear input, over the real rows of each call: the sums of x² per channel, or (for gptq)
// the block-diagonal Σ x xᵀ (gptq.h). Linears that read the same graph value share one.
class InputStatistics : public runtime::LinearInputObserver {
 public:
  explicit InputStatistics(bool hessians) : hessians_(hessians) {}
  void begin_call(int64_t rows) {
    rows_ = rows;
    ++call_;
  }
  void linear_input(const runtime::GraphValue& weight, int64_t input, const runtime::Tensor& x) override {
    // The reference program's blob keys are "<source tensor>:<steps>".
    const std::string source = weight.blob.substr(0, weight.blob.find(':'));
    const int64_t k = weight.shape.at(1);
    auto [at, fresh] = source_input_.try_emplace(source, 0);
    if (fresh) {
      size_t i = 0;
      while (i < inputs_.size() && !(inputs_[i].last_call == call_ && inputs_[i].last_input == input)) ++i;
      if (i == inputs_.size()) {
        inputs_.emplace_back();
        inputs_.back().cols = k;
      }
      at->second = i;
    }
    Input& in = inputs_[at->second];
    if (in.cols != k || x.floats.size() < static_cast<size_t>(rows_ * k))
      throw Error("internal: calibration: linear '" + source + "' input does not match its weight");
    if (in.last_call == call_ && in.last_input == input) return;  // counted for another linear
    in.last_call = call_;
    in.last_input = input;
    in.tokens += rows_;
    if (hessians_) add_products(in, x.floats.data());
    else add_squares(in, x.floats.data());
  }
  LinearImportances mean_squares() {
    return by_source<std::vector<float>>([](Input& in) {
      auto v = std::make_shared<std::vector<float>>(in.sums.size());
      for (size_t c = 0; c < in.sums.size(); ++c) (*v)[c] = static_cast<float>(in.sums[c] / static_cast<double>(in.tokens));
      return v;
    });
  }
  // Moves the statistics out: call once, at the end.
  LinearHessians products() {
    return by_source<ColumnHessian>([](Input& in) {
      auto h = std::make_shared<ColumnHessian>(std::move(in.hessian));
      h->tokens = in.tokens;
      mirror(*h);
      return h;
    });
  }

 private:
  // One value per linear weight source, made once per distinct input by make(input).
  template <typename T, typename Make>
  std::map<std::string, std::shared_ptr<const T>> by_source(Make make) {
    std::map<std::string, std::shared_ptr<const T>> out;
    std::vector<std::shared_ptr<const T>> made(inputs_.size());
    for (const auto& [source, i] : source_input_) {
      if (!made[i]) made[i] = make(inputs_[i]);
      out[source] = made[i];
    }
    return out;
  }

  struct Input {
    int64_t cols = 0;
    int64_t tokens = 0;
    int64_t last_call = -1, last_input = -1;
    std::vector<double> sums;  // x² per channel
    ColumnHessian hessian;     // its upper triangles filled while collecting
  };
  void add_squares(Input& in, const float* x) const {
    if (in.sums.empty()) in.sums.assign(static_cast<size_t>(in.cols), 0.0);
    for (int64_t r = 0; r < rows_; ++r) {
      const float* row = x + r * in.cols;
      for (int64_t c = 0; c < in.cols; ++c) in.sums[c] += static_cast<double>(row[c]) * row[c];
    }
  }
  void add_products(Input& in, const float* x) const {
    ColumnHessian& h = in.hessian;
    if (h.sums.empty()) {
      h.cols = in.cols;
      h.sums.assign(h.size(), 0.0);
    }
    std::vector<double> row(static_cast<size_t>(in.cols));
    for (int64_t r = 0; r < rows_; ++r) {
      for (int64_t c = 0; c < in.cols; ++c) row[c] = x[r * in.cols + c];
      for (int64_t b = 0; b < h.blocks(); ++b) {
        const int64_t nb = h.block_width(b), c0 = b * h.block;
        double* block = h.sums.data() + h.block_offset(b);
        for (int64_t i = 0; i < nb; ++i) {
          const double xi = row[c0 + i];
          double* out = block + i * nb;
          for (int64_t j = i; j < nb; ++j) out[j] += xi * row[c0 + j];
        }
      }
    }
  }
  static void mirror(ColumnHessian& h) {
    for (int64_t b = 0; b < h.blocks(); ++b) {
      const int64_t nb = h.block_width(b);
      double* block = h.sums.data() + h.block_offset(b);
      for (int64_t i = 0; i < nb; ++i)
        for (int64_t j = 0; j < i; ++j) block[i * nb + j] = block[j * nb + i];
    }
  }

  bool hessians_;
  int64_t rows_ = 0, call_ = 0;
  std::vector<Input> inputs_;
  std::map<std::string, size_t> source_input_;
};

}  // namespace

std::vector<int32_t> calibration_tokens(const std::string& path, const std::string& bytes, const std::string& tokenizer) {
  std::vector<int32_t> ids;
  if (path.ends_with(".ids")) {
    ids = parse_ids(path, bytes);
  } else {
    if (tokenizer.empty())
      throw Error("--calibration " + path + ": a text file needs a tokenizer (--tokenizer FILE, or a checkpoint "
                  "folder that has one); give token ids in a file ending in .ids instead");
    const std::unique_ptr<tokenizers::Tokenizer> t = tokenizers::load_tokenizer_file(tokenizer);
    if (auto bos = t->special_tokens().bos) ids.push_back(*bos);
    const std::vector<int32_t> text = t->encode(bytes);
    ids.insert(ids.end(), text.begin(), text.end());
  }
  if (ids.size() < 2) throw Error("--calibration " + path + ": at least 2 tokens are needed, found " + std::to_string(ids.size()));
  if (static_cast<int64_t>(ids.size()) > kMaxCalibrationTokens)
    throw Error("--calibration " + path + ": at most " + std::to_string(kMaxCalibrationTokens) + " tokens, found " +
                std::to_string(ids.size()));
  return ids;
}

Calibration calibrate(const ExportOptions& o, int threads) {
  std::string tokenizer = o.tokenizer;
  if (tokenizer.empty()) {
    struct stat st{};
    if (::stat(o.checkpoint.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) tokenizer = pick_tokenizer_files(o.checkpoint).tokenizer;
  }
  const std::string bytes = read_file(o.calibration);
  const std::vector<int32_t> ids = calibration_tokens(o.calibration, bytes, tokenizer);
  // The float model, its weights read from the checkpoint in place.
  const ReferenceProgram reference(
      reference_options(o.checkpoint, o.params, kCalibrationWindow + kCalibrationChunk + 1, kCalibrationChunk, threads));
  const runtime::LoadedProgram* program = &reference.program();
  const int64_t vocab = program->metadata_int(meta::kVocabSize);
  for (int32_t id : ids)
    if (id >= vocab)
      throw Error("--calibration " + o.calibration + ": token id " + std::to_string(id) + " is not below the vocab size " +
                  std::to_string(vocab));
  InputStatistics statistics(o.quant_search == QuantSearch::Gptq);
  runtime::ExecutorOptions executor;
  executor.kind = runtime::ExecutorKind::Reference;
  executor.linear_observer = &statistics;
  runtime::Runner runner(*program, "forward", executor);
  const std::span<const int32_t> all(ids);
  for (size_t w = 0; w < ids.size(); w += kCalibrationWindow) {
    runner.reset();
    const size_t window_end = std::min(ids.size(), w + kCalibrationWindow);
    for (size_t c = w; c < window_end; c += kCalibrationChunk) {
      const size_t n = std::min(window_end, c + kCalibrationChunk) - c;
      statistics.begin_call(static_cast<int64_t>(n));
      runner.step(all.subspan(c, n));
    }
  }
  Calibration result;
  if (o.quant_search == QuantSearch::Gptq) result.hessians = statistics.products();
  else result.importances = statistics.mean_squares();
  result.sha256 = to_hex(sha256(bytes.data(), bytes.size()));
  result.tokens = static_cast<int64_t>(ids.size());
  return result;
}

}  // namespace pte
