#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "common/error.h"
#include "runtime-check/parity_metrics.h"

namespace pte::runtime {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(RuntimeParityMetrics, KlOfHandComputedRows) {
  // p = (1/2, 1/2), q = (1/4, 3/4): KL = 1/2 ln 2 + 1/2 ln(2/3) = 1/2 ln(4/3).
  std::vector<float> p = {0.0f, 0.0f}, q = {0.0f, static_cast<float>(std::log(3.0))};
  EXPECT_NEAR(kl_divergence(p, q), 0.5 * std::log(4.0 / 3.0), 1e-7);
  // p = softmax(1, 0), q = softmax(0, 1): KL = p0 - p1 = tanh(1/2).
  std::vector<float> a = {1.0f, 0.0f}, b = {0.0f, 1.0f};
  EXPECT_NEAR(kl_divergence(a, b), std::tanh(0.5), 1e-12);
  EXPECT_EQ(kl_divergence(a, a), 0.0);
}

TEST(RuntimeParityMetrics, KlIgnoresAConstantShiftAndLargeLogits) {
  std::vector<float> p = {1, 2, 3}, q = {11, 12, 13};
  EXPECT_NEAR(kl_divergence(p, q), 0.0, 1e-15);
  std::vector<float> big = {1000.0f, 0.0f}, big_q = {1000.0f, 1000.0f};  // no overflow: log-sum-exp
  EXPECT_NEAR(kl_divergence(big, big_q), std::log(2.0), 1e-12);
}

TEST(RuntimeParityMetrics, KlWithImpossibleAndUndefinedTokens) {
  std::vector<float> p = {0.0f, -kInf}, q = {0.0f, 0.0f};
  EXPECT_NEAR(kl_divergence(p, q), std::log(2.0), 1e-12);  // p = (1, 0), q = (1/2, 1/2)
  EXPECT_EQ(kl_divergence(q, p), std::numeric_limits<double>::infinity());  // q gives 0 where p does not
  std::vector<float> nan = {0.0f, std::nanf("")};
  EXPECT_EQ(kl_divergence(q, nan), std::numeric_limits<double>::infinity());
}

TEST(RuntimeParityMetrics, CompareHandComputedMatrix) {
  const float ln3 = static_cast<float>(std::log(3.0));
  // Row 0: reference tie (argmax 0) vs candidate argmax 1; row 1: argmax 0 vs 1; row 2: identical.
  std::vector<float> reference = {0, 0, /**/ 1, 0, /**/ 0, 3};
  std::vector<float> candidate = {0, ln3, /**/ 0, 1, /**/ 0, 3};
  ParityMetrics m = compare_logits(reference, candidate, 2);
  EXPECT_EQ(m.rows, 3u);
  EXPECT_EQ(m.vocab, 2u);
  EXPECT_DOUBLE_EQ(m.max_abs_diff, static_cast<double>(ln3));
  EXPECT_DOUBLE_EQ(m.max_abs_logit, 3.0);
  EXPECT_DOUBLE_EQ(m.relative_max_diff, static_cast<double>(ln3) / 3.0);
  EXPECT_NEAR(m.mean_kld, (0.5 * std::log(4.0 / 3.0) + std::tanh(0.5)) / 3.0, 1e-7);
  EXPECT_NEAR(m.max_kld, std::tanh(0.5), 1e-12);
  EXPECT_EQ(m.top1_matches, 1u);
  EXPECT_DOUBLE_EQ(m.top1_agreement, 1.0 / 3.0);
}

TEST(RuntimeParityMetrics, IdenticalMatricesAgreeExactly) {
  std::vector<float> x = {0.5f, -2.0f, 1.5f, 3.0f, 3.0f, -1.0f};
  ParityMetrics m = compare_logits(x, x, 3);
  EXPECT_EQ(m.max_abs_diff, 0.0);
  EXPECT_EQ(m.relative_max_diff, 0.0);
  EXPECT_EQ(m.mean_kld, 0.0);
  EXPECT_EQ(m.top1_agreement, 1.0);
  EXPECT_EQ(m.max_abs_logit, 3.0);
}

TEST(RuntimeParityMetrics, NonFiniteCandidateFailsEveryMetric) {
  std::vector<float> reference = {1, 2}, candidate = {1, std::nanf("")};
  ParityMetrics m = compare_logits(reference, candidate, 2);
  EXPECT_EQ(m.max_abs_diff, std::numeric_limits<double>::infinity());
  EXPECT_EQ(m.mean_kld, std::numeric_limits<double>::infinity());
  EXPECT_FALSE(m.mean_kld <= 1.0);
}

TEST(RuntimeParityMetrics, RejectsMismatchedShapes) {
  std::vector<float> a = {1, 2, 3, 4}, b = {1, 2, 3};
  EXPECT_THROW(compare_logits(a, b, 2), Error);
  EXPECT_THROW(compare_logits(b, b, 2), Error);  // 3 values are not [rows, 2]
  EXPECT_THROW(compare_logits(a, a, 0), Error);
  EXPECT_THROW(compare_logits(std::vector<float>{}, std::vector<float>{}, 2), Error);
  EXPECT_THROW(kl_divergence(a, b), Error);
}

}  // namespace
}  // namespace pte::runtime
