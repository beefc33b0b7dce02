#include "runtime-check/parity_metrics.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "common/error.h"

namespace pte::runtime {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// log softmax of a row, in double.
std::vector<double> log_softmax(std::span<const float> logits) {
  double top = -kInf;
  for (float x : logits) top = std::max(top, static_cast<double>(x));
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - top);
  const double lse = top + std::log(sum);
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = static_cast<double>(logits[i]) - lse;
  return out;
}

size_t argmax_row(std::span<const float> row) {
  size_t best = 0;
  for (size_t i = 1; i < row.size(); ++i)
    if (row[i] > row[best]) best = i;
  return best;
}

double abs_diff(float a, float b) {
  if (std::isfinite(a) && std::isfinite(b)) return std::fabs(static_cast<double>(a) - static_cast<double>(b));
  return a == b ? 0.0 : kInf;  // the same infinity agrees; anything else (NaN included) does not
}

}  // namespace

double kl_divergence(std::span<const float> p_logits, std::span<const float> q_logits) {
  if (p_logits.size() != q_logits.size() || p_logits.empty())
    throw Error("kl_divergence: rows must be non-empty and of equal length, found " +
                std::to_string(p_logits.size()) + " and " + std::to_string(q_logits.size()));
  // -inf is a token of probability 0; NaN and +inf make the distribution undefined.
  auto undefined = [](float x) { return std::isnan(x) || x == std::numeric_limits<float>::infinity(); };
  for (size_t i = 0; i < p_logits.size(); ++i)
    if (undefined(p_logits[i]) || undefined(q_logits[i])) return kInf;
  const std::vector<double> log_p = log_softmax(p_logits), log_q = log_softmax(q_logits);
  double kl = 0;
  for (size_t i = 0; i < log_p.size(); ++i)
    if (log_p[i] != -kInf) kl += std::exp(log_p[i]) * (log_p[i] - log_q[i]);
  if (!std::isfinite(kl)) return kInf;
  return std::max(kl, 0.0);  // rounding can leave a tiny negative value for identical rows
}

ParityMetrics compare_logits(std::span<const float> reference, std::span<const float> candidate, size_t vocab) {
  if (reference.size() != candidate.size())
    throw Error("compare_logits: reference has " + std::to_string(reference.size()) + " values, candidate has " +
                std::to_string(candidate.size()));
  if (vocab == 0 || reference.empty() || reference.size() % vocab != 0)
    throw Error("compare_logits: expected a non-empty [rows, " + std::to_string(vocab) + "] matrix, found " +
                std::to_string(reference.size()) + " values");
  ParityMetrics m;
  m.vocab = vocab;
  m.rows = reference.size() / vocab;
  double kld_sum = 0;
  for (size_t r = 0; r < m.rows; ++r) {
    std::span<const float> ref = reference.subspan(r * vocab, vocab), cand = candidate.subspan(r * vocab, vocab);
    for (size_t i = 0; i < vocab; ++i) {
      m.max_abs_diff = std::max(m.max_abs_diff, abs_diff(ref[i], cand[i]));
      if (std::isfinite(ref[i])) m.max_abs_logit = std::max(m.max_abs_logit, std::fabs(static_cast<double>(ref[i])));
    }
    const double kl = kl_divergence(ref, cand);
    kld_sum += kl;
    m.max_kld = std::max(m.max_kld, kl);
    if (argmax_row(ref) == argmax_row(cand)) ++m.top1_matches;
  }
  m.relative_max_diff = m.max_abs_diff == 0 ? 0.0 : m.max_abs_logit == 0 ? kInf : m.max_abs_diff / m.max_abs_logit;
  m.mean_kld = kld_sum / static_cast<double>(m.rows);
  m.top1_agreement = static_cast<double>(m.top1_matches) / static_cast<double>(m.rows);
  return m;
}

}  // namespace pte::runtime
