// Each kernel against values computed by hand.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include <unistd.h>

#include "common/error.h"
#include "common/float16.h"
#include "runtime-check/kernels.h"
#include "runtime-check/parallel.h"
#include "tests/unit/runtime/pte_test_writer.h"

namespace pte::runtime {
namespace {

const float kInf = std::numeric_limits<float>::infinity();

Tensor f32(Shape shape, std::vector<float> values) { return Tensor::from_floats(DType::F32, std::move(shape), std::move(values)); }
Tensor out(DType dtype, Shape shape) { return Tensor::zeros(dtype, std::move(shape)); }

void expect_near(const std::vector<float>& got, const std::vector<float>& want, float tolerance = 1e-6f) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tolerance) << "element " << i;
}

TEST(RuntimeKernels, Fp16EmulationRoundsToNearestEven) {
  EXPECT_EQ(round_to_dtype(DType::F16, 1.0f + 0x1p-11f), 1.0f);                // halfway, to even
  EXPECT_EQ(round_to_dtype(DType::F16, 1.0f + 3 * 0x1p-11f), 1.0f + 0x1p-9f);  // halfway, to even
  EXPECT_EQ(round_to_dtype(DType::F16, 0.1f), 0.0999755859375f);
  EXPECT_EQ(round_to_dtype(DType::F16, 70000.0f), kInf);
  EXPECT_EQ(round_to_dtype(DType::BF16, 1.0f + 0x1p-8f), 1.0f);
  EXPECT_EQ(round_to_dtype(DType::F32, 0.1f), 0.1f);
  // An fp16 add rounds its result once: 2048 + 1 is not representable (ulp 2), ties to even.
  Tensor a = Tensor::from_floats(DType::F16, {2}, {2048, 2048}), b = Tensor::from_floats(DType::F16, {2}, {1, 3});
  Tensor o = out(DType::F16, {2});
  add(a, b, o);
  expect_near(o.floats, {2048, 2052}, 0);
}

TEST(RuntimeKernels, EmbeddingReadsRowsOfAnFp16ConstantAndRejectsBadTokens) {
  std::vector<uint8_t> bytes = testing::encode_floats({0, 1, 10, 11, 20, 21}, DType::F16);
  Tensor table = Tensor::constant(DType::F16, {3, 2}, bytes.data());
  Tensor tokens = Tensor::from_ints(DType::I32, {1, 2}, {2, 0});
  Tensor o = out(DType::F32, {1, 2, 2});
  embedding(table, tokens, o);
  expect_near(o.floats, {20, 21, 0, 1}, 0);
  Tensor bad = Tensor::from_ints(DType::I32, {1, 2}, {1, 3});
  EXPECT_THROW(embedding(table, bad, o), Error);
  Tensor negative = Tensor::from_ints(DType::I32, {1, 2}, {-1, 0});
  EXPECT_THROW(embedding(table, negative, o), Error);
}

TEST(RuntimeKernels, RmsNormNormalizesThenScales) {
  // mean(x²) = 4; with eps 5 the root is 3: n = ±2/3, times weight 3 = ±2.
  Tensor x = f32({1, 4}, {2, -2, 2, -2});
  Tensor w = f32({4}, {3, 3, 3, 3});
  Tensor o = out(DType::F32, {1, 4});
  rms_norm(x, w, 5.0, o);
  expect_near(o.floats, {2, -2, 2, -2});
  // Two rows, eps 0: each row normalized on its own.
  Tensor x2 = f32({2, 2}, {3, 4, 1, 1});
  Tensor w2 = f32({2}, {1, 2});
  Tensor o2 = out(DType::F32, {2, 2});
  rms_norm(x2, w2, 0.0, o2);
  float r = std::sqrt(12.5f);
  expect_near(o2.floats, {3 / r, 8 / r, 1, 2});
}

TEST(RuntimeKernels, HeadRmsNormNormalizesEachHeadWithTheSharedWeight) {
  // One token, two heads of 2: head 0 (3, 4): mean square 12.5; head 1 (1, 1): 1. eps 0.
  Tensor x = f32({1, 1, 4}, {3, 4, 1, 1});
  Tensor w = f32({2}, {1, 2});
  Tensor o = out(DType::F32, {1, 1, 4});
  head_rms_norm(x, w, 2, 2, 0.0, o);
  float r = std::sqrt(12.5f);
  expect_near(o.floats, {3 / r, 8 / r, 1, 2});
  // With eps 5 on (2, -2) (mean square 4, root 3) and weight 3: (2, -2) for every head.
  Tensor x2 = f32({1, 2, 4}, {2, -2, 2, -2, 2, -2, 2, -2});
  Tensor o2 = out(DType::F32, {1, 2, 4});
  head_rms_norm(x2, f32({2}, {3, 3}), 2, 2, 5.0, o2);
  expect_near(o2.floats, {2, -2, 2, -2, 2, -2, 2, -2});
}

TEST(RuntimeKernels, LinearAddsTheBiasBeforeTheOneRounding) {
  Tensor x = f32({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor w = f32({2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f});
  Tensor b = f32({2}, {0.25f, -10});
  Tensor o = out(DType::F32, {1, 2, 2});
  linear(x, w, &b, o);
  expect_near(o.floats, {-1.75f, -7, -1.75f, -2.5f});
  // fp16 output: 2048 + 1 = 2049 (exact in fp32) + bias 0.75 = 2049.75 rounds once to 2050.
  // Rounding the dot product first would give 2048 (tie to even), + 0.75 -> 2048.
  Tensor xh = f32({1, 2}, {2048, 1});
  Tensor bh = f32({1}, {0.75f});
  Tensor oh = out(DType::F16, {1, 1});
  linear(xh, f32({1, 2}, {1, 1}), &bh, oh);
  expect_near(oh.floats, {2050}, 0);
}

TEST(RuntimeKernels, RmsNormInFp16RoundsTheNormalizedValueBeforeScaling) {
  // n = 2/3 rounds to 0.66650390625 in fp16; times 1.25 = 0.8331298828125 -> 0.8330078125.
  // Without the intermediate rounding the result would be 0.83349609375.
  Tensor x = Tensor::from_floats(DType::F16, {1, 4}, {2, -2, 2, -2});
  Tensor w = Tensor::from_floats(DType::F16, {4}, {1.25f, 1.25f, 1.25f, 1.25f});
  Tensor o = out(DType::F16, {1, 4});
  rms_norm(x, w, 5.0, o);
  expect_near(o.floats, {0.8330078125f, -0.8330078125f, 0.8330078125f, -0.8330078125f}, 0);
}

TEST(RuntimeKernels, LinearWithFp32AndFp16Weights) {
  Tensor x = f32({1, 2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<float> w = {1, 0, -1, 0.5f, 0.5f, 0.5f};
  Tensor o = out(DType::F32, {1, 2, 2});
  linear(x, f32({2, 3}, w), nullptr, o);
  expect_near(o.floats, {-2, 3, -2, 7.5f});
  std::vector<uint8_t> half = testing::encode_floats(w, DType::F16);
  Tensor o16 = out(DType::F32, {1, 2, 2});
  linear(x, Tensor::constant(DType::F16, {2, 3}, half.data()), nullptr, o16);
  expect_near(o16.floats, {-2, 3, -2, 7.5f});
  std::vector<uint8_t> bf = testing::encode_floats(w, DType::BF16);
  linear(x, Tensor::constant(DType::BF16, {2, 3}, bf.data()), nullptr, o16);
  expect_near(o16.floats, {-2, 3, -2, 7.5f});
}

TEST(RuntimeKernels, LinearWithInt8PerRowScales) {
  // Codes [[1, -2, 3], [127, -128, 0]], scales (0.5, 0.25): weights [[0.5, -1, 1.5], [31.75, -32, 0]].
  std::vector<uint8_t> codes = {1, 0xfe, 3, 127, 0x80, 0};
  std::vector<uint8_t> scales = testing::encode_floats({0.5f, 0.25f}, DType::F32);
  Tensor w = Tensor::quantized(DType::I8, {2, 3}, codes.data(), scales.data(), DType::F32, 3);
  Tensor o = out(DType::F32, {1, 2});
  linear(f32({1, 3}, {1, 1, 1}), w, nullptr, o);
  expect_near(o.floats, {1.0f, -0.25f}, 0);
}

TEST(RuntimeKernels, LinearWithInt4GroupedFp16Scales) {
  // Codes (7, -8 | 1, -1) in groups of 2 with scales (0.5 | 3): weights (3.5, -4, 3, -3).
  // Element 2k is the low nibble of byte k: bytes 0x87, 0xf1.
  std::vector<uint8_t> codes = {0x87, 0xf1};
  std::vector<uint8_t> scales = testing::encode_floats({0.5f, 3.0f}, DType::F16);
  Tensor w = Tensor::quantized(DType::I4, {1, 4}, codes.data(), scales.data(), DType::F16, 2);
  Tensor o = out(DType::F32, {1, 1});
  linear(f32({1, 4}, {1, 2, 3, 4}), w, nullptr, o);
  expect_near(o.floats, {3.5f - 8 + 9 - 12}, 0);
}

TEST(RuntimeKernels, QuantizedValuesAreRoundedToTheScalesDtype) {
  // fp16 scale 0.1 = 0.0999755859375; 3 * scale = 0.2999267578125 is a tie in fp16 -> 0.2998046875.
  std::vector<uint8_t> codes = {3};
  std::vector<uint8_t> scales = testing::encode_floats({0.1f}, DType::F16);
  Tensor table = Tensor::quantized(DType::I8, {1, 1}, codes.data(), scales.data(), DType::F16, 1);
  Tensor o = out(DType::F32, {1, 1, 1});
  embedding(table, Tensor::from_ints(DType::I32, {1, 1}, {0}), o);
  expect_near(o.floats, {0.2998046875f}, 0);
}

TEST(RuntimeKernels, LinearMatchesADoublePrecisionReferenceOnALargeThreadedCase) {
  const size_t rows = 3, k = 67, n = 4099;  // odd sizes: vector tail and uneven thread split
  std::vector<float> xs(rows * k), ws(n * k);
  for (size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<float>((i * 37) % 11) / 7.0f - 0.5f;
  for (size_t i = 0; i < ws.size(); ++i) ws[i] = static_cast<float>((i * 13) % 17) / 9.0f - 1.0f;
  Tensor x = f32({rows, k}, xs);
  std::vector<uint8_t> wb = testing::encode_floats(ws, DType::F32);
  Tensor o = out(DType::F32, {rows, n});
  set_thread_count(4);
  linear(x, Tensor::constant(DType::F32, {static_cast<int64_t>(n), static_cast<int64_t>(k)}, wb.data()), nullptr, o);
  set_thread_count(std::thread::hardware_concurrency());
  for (size_t r = 0; r < rows; ++r)
    for (size_t j = 0; j < n; ++j) {
      double want = 0;
      for (size_t i = 0; i < k; ++i) want += double(xs[r * k + i]) * double(ws[j * k + i]);
      ASSERT_NEAR(o.floats[r * n + j], want, 1e-4) << r << "," << j;
    }
}

TEST(RuntimeParallel, CoversEveryItemOnceReusesItsThreadsAndRethrows) {
  set_thread_count(3);
  std::mutex m;
  std::set<pid_t> ids;  // kernel thread ids: unlike std::thread::id, not reused soon
  for (size_t round = 0; round < 50; ++round) {
    const size_t count = 7 + round;
    std::vector<std::atomic<int>> seen(count);
    parallel_for(count, size_t{1} << 20, [&](size_t begin, size_t end) {
      {
        std::lock_guard<std::mutex> lock(m);
        ids.insert(gettid());
      }
      for (size_t i = begin; i < end; ++i) seen[i]++;
      // A nested loop runs inline on this thread.
      parallel_for(4, size_t{1} << 20, [&](size_t b, size_t e) {
        std::lock_guard<std::mutex> lock(m);
        ids.insert(gettid());
        EXPECT_EQ(b, 0u);
        EXPECT_EQ(e, 4u);
      });
    });
    for (size_t i = 0; i < count; ++i) ASSERT_EQ(seen[i].load(), 1) << "round " << round << " item " << i;
  }
  EXPECT_LE(ids.size(), 3u);  // the caller and two workers, not threads per loop
  EXPECT_THROW(parallel_for(8, size_t{1} << 20, [](size_t begin, size_t) {
                 if (begin > 0) throw Error("part failed");
               }),
               Error);
  std::atomic<size_t> after{0};  // the pool still works after an error
  parallel_for(8, size_t{1} << 20, [&](size_t begin, size_t end) { after += end - begin; });
  EXPECT_EQ(after.load(), 8u);
  set_thread_count(std::thread::hardware_concurrency());
}

TEST(RuntimeKernels, RopeRotatesEachPairOfEachHead) {
  // cos 0.6, sin 0.8: (1, 2) -> (0.6 - 1.6, 0.8 + 1.2) = (-1, 2); (3, 4) -> (-1.4, 4.8).
  Tensor x = f32({1, 1, 4}, {1, 2, 3, 4});
  Tensor o = out(DType::F32, {1, 1, 4});
  rope(x, f32({1, 1}, {0.6f}), f32({1, 1}, {0.8f}), 2, 2, o);
  expect_near(o.floats, {-1, 2, -1.4f, 4.8f}, 1e-6f);
  // One head of dim 4 at two positions: pair i uses column i of the row of its position.
  Tensor x2 = f32({1, 2, 4}, {1, 0, 0, 1, 1, 0, 0, 1});
  Tensor cos = f32({2, 2}, {1, 0, 0, 1}), sin = f32({2, 2}, {0, 1, 1, 0});
  Tensor o2 = out(DType::F32, {1, 2, 4});
  rope(x2, cos, sin, 1, 4, o2);
  expect_near(o2.floats, {1, 0, -1, 0, 0, 1, 0, 1});
}

TEST(RuntimeKernels, ToHeadsTransposesTokensAndHeads) {
  Tensor x = f32({1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8});  // t0: h0 (1,2) h1 (3,4); t1: h0 (5,6) h1 (7,8)
  Tensor o = out(DType::F32, {1, 2, 2, 2});
  to_heads(x, 2, 2, o);
  expect_near(o.floats, {1, 2, 5, 6, 3, 4, 7, 8}, 0);
}

TEST(RuntimeKernels, AttentionSoftmaxOverCacheAndNewKeys) {
  // D = 4 so the scale is 2; q = (2, 0, 0, 0) makes each score the key's first element.
  // Scores (0, ln 3) -> p = (1/4, 3/4); values (4, 0, 0, 0) and (0, 8, 0, 0) -> (1, 6, 0, 0).
  Tensor q = f32({1, 1, 4}, {2, 0, 0, 0});
  Tensor k = f32({1, 1, 1, 4}, {std::log(3.0f), 0, 0, 0});
  Tensor v = f32({1, 1, 1, 4}, {0, 8, 0, 0});
  Tensor kc = f32({1, 1, 1, 4}, {0, 0, 0, 0});
  Tensor vc = f32({1, 1, 1, 4}, {4, 0, 0, 0});
  Tensor o = out(DType::F32, {1, 1, 4});
  attention({q, k, v, kc, vc, f32({1, 1, 2}, {0, 0})}, 1, 1, 4, o);
  expect_near(o.floats, {1, 6, 0, 0}, 1e-5f);
  // The mask hides the cache slot: all weight on the new key.
  attention({q, k, v, kc, vc, f32({1, 1, 2}, {-kInf, 0})}, 1, 1, 4, o);
  expect_near(o.floats, {0, 8, 0, 0}, 0);
  // Every key hidden: zeros, not NaN.
  attention({q, k, v, kc, vc, f32({1, 1, 2}, {-kInf, -kInf})}, 1, 1, 4, o);
  expect_near(o.floats, {0, 0, 0, 0}, 0);
}

TEST(RuntimeKernels, AttentionGroupsQueryHeadsOverKvHeads) {
  // 4 query heads, 2 kv heads: heads 0 and 1 read kv head 0, heads 2 and 3 kv head 1.
  // One visible key (no cache), so each head outputs its kv head's value.
  Tensor q = f32({1, 1, 8}, {1, 2, 3, 4, 5, 6, 7, 8});
  Tensor k = f32({1, 2, 1, 2}, {1, 1, 2, 2});
  Tensor v = f32({1, 2, 1, 2}, {10, 11, 20, 21});
  Tensor empty = f32({1, 2, 0, 2}, {});
  Tensor o = out(DType::F32, {1, 1, 8});
  attention({q, k, v, empty, empty, f32({1, 1, 1}, {0})}, 4, 2, 2, o);
  expect_near(o.floats, {10, 11, 10, 11, 20, 21, 20, 21}, 0);
}

TEST(RuntimeKernels, AttentionIsCausalWithinTheCall) {
  // Two new tokens, no cache, causal mask: row 0 sees only key 0; row 1 weighs equal scores evenly.
  Tensor q = f32({1, 2, 2}, {0, 0, 0, 0});
  Tensor k = f32({1, 1, 2, 2}, {1, 0, 0, 1});
  Tensor v = f32({1, 1, 2, 2}, {2, 0, 0, 4});
  Tensor empty = f32({1, 1, 0, 2}, {});
  Tensor o = out(DType::F32, {1, 2, 2});
  attention({q, k, v, empty, empty, f32({1, 2, 2}, {0, -kInf, 0, 0})}, 1, 1, 2, o);
  expect_near(o.floats, {2, 0, 1, 2});
}

TEST(RuntimeKernels, ElementwiseOperators) {
  Tensor a = f32({3}, {0, 1, -1}), b = f32({3}, {2, 3, 4});
  Tensor o = out(DType::F32, {3});
  add(a, b, o);
  expect_near(o.floats, {2, 4, 3}, 0);
  mul(a, b, o);
  expect_near(o.floats, {0, 3, -4}, 0);
  silu(a, o);
  expect_near(o.floats, {0, 0.7310585786f, -0.2689414214f});
}

TEST(RuntimeKernels, AddWithAlphaScalesTheSecondInput) {
  Tensor a = f32({3}, {1, 2, -1}), b = f32({3}, {2, -4, 8});
  Tensor o = out(DType::F32, {3});
  add(a, b, o, 0.5);
  expect_near(o.floats, {2, 0, 3}, 0);
  add(a, b, o, -2.0);
  expect_near(o.floats, {-3, 10, -17}, 0);
  add(a, b, o);  // default alpha 1
  expect_near(o.floats, {3, -2, 7}, 0);
  // alpha is used as float32: 0 + float(0.1) * 1 is exactly 0.1f.
  Tensor zero = f32({1}, {0}), one = f32({1}, {1});
  Tensor o1 = out(DType::F32, {1});
  add(zero, one, o1, 0.1);
  EXPECT_EQ(o1.floats[0], 0.1f);
  // fp16 output: the fp32 sums 2048.5 and 2049.5 are rounded once, to 2048 and 2050 (ulp 2).
  Tensor h = Tensor::from_floats(DType::F16, {2}, {2048, 2048}), k = Tensor::from_floats(DType::F16, {2}, {1, 3});
  Tensor o16 = out(DType::F16, {2});
  add(h, k, o16, 0.5);
  expect_near(o16.floats, {2048, 2050}, 0);
}

TEST(RuntimeKernels, SelectRowCopiesOneTokenRowAndRejectsBadPositions) {
  Tensor x = f32({1, 3, 2}, {1, 2, 3, 4, 5, 6});
  Tensor o = out(DType::F32, {1, 1, 2});
  select_row(x, Tensor::from_ints(DType::I64, {1}, {1}), o);
  expect_near(o.floats, {3, 4}, 0);
  select_row(x, Tensor::from_ints(DType::I64, {1}, {2}), o);
  expect_near(o.floats, {5, 6}, 0);
  select_row(x, Tensor::from_ints(DType::I64, {1}, {0}), o);
  expect_near(o.floats, {1, 2}, 0);
  EXPECT_THROW(select_row(x, Tensor::from_ints(DType::I64, {1}, {3}), o), Error);
  EXPECT_THROW(select_row(x, Tensor::from_ints(DType::I64, {1}, {-1}), o), Error);
  // Rounded to the output dtype.
  Tensor y = f32({1, 1, 2}, {0.1f, 1});
  Tensor o16 = out(DType::F16, {1, 1, 2});
  select_row(y, Tensor::from_ints(DType::I64, {1}, {0}), o16);
  expect_near(o16.floats, {0.0999755859375f, 1}, 0);
}

TEST(RuntimeKernels, ConcatAlongLastAndMiddleAxes) {
  Tensor a = f32({1, 2, 2}, {1, 2, 3, 4}), b = f32({1, 2, 1}, {5, 6});
  Tensor o = out(DType::F32, {1, 2, 3});
  const Tensor* ins[] = {&a, &b};
  concat(ins, 2, o);
  expect_near(o.floats, {1, 2, 5, 3, 4, 6}, 0);
  Tensor c = f32({1, 1, 2}, {7, 8});
  Tensor o2 = out(DType::F32, {1, 3, 2});
  const Tensor* ins2[] = {&a, &c};
  concat(ins2, 1, o2);
  expect_near(o2.floats, {1, 2, 3, 4, 7, 8}, 0);
}

}  // namespace
}  // namespace pte::runtime
