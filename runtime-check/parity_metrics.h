#pragma once
// Parity between two logits matrices of the same shape [rows, vocab]: a reference (e.g. a
// float32 evaluation of the checkpoint) and a candidate (e.g. a quantized .pte), row = position.
#include <cstddef>
#include <span>

namespace pte::runtime {

struct ParityMetrics {
  size_t rows = 0, vocab = 0;
  double max_abs_diff = 0;       // max over all elements of |reference - candidate|
  double max_abs_logit = 0;      // max |reference| over its finite values
  double relative_max_diff = 0;  // max_abs_diff / max_abs_logit (0 when both are 0)
  double mean_kld = 0;           // mean over rows of KL(softmax(reference) || softmax(candidate)), in nats
  double max_kld = 0;            // the worst row's KL
  size_t top1_matches = 0;       // rows whose argmax (lowest index on ties) agrees
  double top1_agreement = 0;     // top1_matches / rows
};

// KL(softmax(p_logits) || softmax(q_logits)) of one row, computed in double with log-sum-exp.
// A -inf logit is a token of probability 0; a NaN or +inf logit in either row, or q giving
// probability 0 where p does not, gives +inf.
double kl_divergence(std::span<const float> p_logits, std::span<const float> q_logits);

// Throws pte::Error when the arrays differ in size, vocab is 0 or does not divide the size, or
// there are no rows. An element pair that is not both finite counts as an infinite difference
// unless the two are the same infinity.
ParityMetrics compare_logits(std::span<const float> reference, std::span<const float> candidate, size_t vocab);

}  // namespace pte::runtime
