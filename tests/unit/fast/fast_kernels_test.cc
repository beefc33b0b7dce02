// The SIMD kernels of every CPU variant against hand-computed values, at sizes that are not
// multiples of the vector width. A variant this CPU lacks is reported as skipped (not run).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "runtime-fast/simd_kernels.h"

namespace pte::fast {
namespace {

class FastKernels : public ::testing::TestWithParam<CpuVariant> {
 protected:
  void SetUp() override {
    if (!cpu_supports(GetParam())) GTEST_SKIP() << "not run: this CPU lacks " << variant_name(GetParam());
  }
  const SimdKernels& k() const { return simd_kernels(GetParam()); }
};

const size_t kSizes[] = {0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100};

// IEEE binary16 bits of small integers (|v| <= 2048, exact).
uint16_t half_bits_of_int(int v) {
  if (v == 0) return 0;
  uint16_t sign = v < 0 ? 0x8000 : 0;
  unsigned a = static_cast<unsigned>(v < 0 ? -v : v);
  int e = 31 - __builtin_clz(a);
  uint16_t mant = static_cast<uint16_t>(((a << (10 - e)) & 0x3ff));
  return static_cast<uint16_t>(sign | ((e + 15) << 10) | mant);
}

TEST_P(FastKernels, DotF32OfSmallIntegersIsExact) {
  for (size_t n : kSizes) {
    std::vector<float> a(n), b(n);
    double want = 0;
    for (size_t i = 0; i < n; ++i) {
      a[i] = static_cast<float>(static_cast<int>(i % 7) - 3);
      b[i] = static_cast<float>(static_cast<int>(i % 5) + 1);
      want += static_cast<double>(a[i]) * b[i];
    }
    EXPECT_EQ(k().dot_f32(a.data(), b.data(), n), static_cast<float>(want)) << "n = " << n;
  }
}

TEST_P(FastKernels, DotRowsIsDotF32PerRow) {
  for (size_t n : {size_t{1}, size_t{9}, size_t{33}, size_t{100}}) {
    for (size_t rows : {size_t{1}, size_t{4}, size_t{7}}) {
      std::vector<float> x(rows * n), w(n), out(rows * 3, -1.0f);
      for (size_t i = 0; i < x.size(); ++i) x[i] = 1.0f / static_cast<float>(i + 1);
      for (size_t i = 0; i < n; ++i) w[i] = static_cast<float>(i % 5) - 2.5f;
      k().dot_rows(x.data(), rows, w.data(), n, out.data(), 3);
      for (size_t r = 0; r < rows; ++r) {
        double want = 0;
        for (size_t i = 0; i < n; ++i) want += static_cast<double>(x[r * n + i]) * w[i];
        EXPECT_EQ(out[r * 3], k().dot_f32(x.data() + r * n, w.data(), n)) << "n " << n << " row " << r;
        EXPECT_NEAR(out[r * 3], want, 1e-5 * (1 + std::fabs(want))) << "n " << n << " row " << r;
      }
    }
  }
}

TEST_P(FastKernels, DotPanelIsDotF32PerRowAndWeightRow) {
  // Sizes around the tiles (4 x rows by 6 weight rows), the 64-element steps and their 32-, 16-
  // and scalar tails, and one chunk boundary (512).
  for (size_t n : {size_t{1}, size_t{17}, size_t{48}, size_t{64}, size_t{100}, size_t{113}, size_t{1088}}) {
    for (size_t rows : {size_t{2}, size_t{5}, size_t{9}}) {
      for (size_t w_rows : {size_t{1}, size_t{7}, size_t{13}}) {
        // Rows padded apart (x by 3 floats, w by 16), the padding a value no sum may read.
        const size_t xs = n + 3, ws = n + 16;
        std::vector<float> x(rows * xs, 1e30f), w(w_rows * ws, 1e30f), out(rows * (w_rows + 2), -1.0f);
        for (size_t r = 0; r < rows; ++r)
          for (size_t i = 0; i < n; ++i) x[r * xs + i] = 1.0f / static_cast<float>(r * n + i + 1);
        for (size_t c = 0; c < w_rows; ++c)
          for (size_t i = 0; i < n; ++i) w[c * ws + i] = static_cast<float>(static_cast<int>((c * n + i) % 11) - 5) / 4.0f;
        const size_t stride = w_rows + 2;
        k().dot_panel(x.data(), xs, rows, w.data(), ws, w_rows, n, out.data(), stride);
        for (size_t r = 0; r < rows; ++r)
          for (size_t c = 0; c < w_rows; ++c) {
            double want = 0;
            for (size_t i = 0; i < n; ++i) want += static_cast<double>(x[r * xs + i]) * w[c * ws + i];
            const float got = out[r * stride + c];
            EXPECT_EQ(got, k().dot_f32(x.data() + r * xs, w.data() + c * ws, n)) << "n " << n << " row " << r << " col " << c;
            EXPECT_NEAR(got, want, 1e-5 * (1 + std::fabs(want))) << "n " << n << " row " << r << " col " << c;
          }
        for (size_t r = 0; r < rows; ++r)  // the columns past w_rows are left alone
          EXPECT_EQ(out[r * stride + w_rows], -1.0f);
      }
    }
  }
}

TEST_P(FastKernels, DotF16ReadsBinary16Weights) {
  EXPECT_EQ(half_bits_of_int(1), 0x3c00);  // the helper itself: 1.0, -2.0, 3.0
  EXPECT_EQ(half_bits_of_int(-2), 0xc000);
  EXPECT_EQ(half_bits_of_int(3), 0x4200);
  for (size_t n : kSizes) {
    std::vector<float> x(n);
    std::vector<uint16_t> w(n);
    double want = 0;
    for (size_t i = 0; i < n; ++i) {
      x[i] = static_cast<float>(static_cast<int>(i % 3) + 1);
      int wi = static_cast<int>(i % 9) - 4;
      w[i] = half_bits_of_int(wi);
      want += x[i] * wi;
    }
    EXPECT_EQ(k().dot_f16(x.data(), w.data(), n), static_cast<float>(want)) << "n = " << n;
  }
}

// Codes 0..15 as nibbles, element 2k in the low nibble of byte k.
std::vector<uint8_t> pack(const std::vector<int>& codes) {
  std::vector<uint8_t> out((codes.size() + 1) / 2, 0);
  for (size_t i = 0; i < codes.size(); ++i)
    out[i / 2] |= static_cast<uint8_t>((codes[i] & 0xf) << ((i & 1) ? 4 : 0));
  return out;
}

TEST_P(FastKernels, Q4CodesWithAnExactScale) {
  // Scale 0.5 (fp32 and fp16 alike exact): dequant(q) = q / 2.
  const float scale_f32 = 0.5f;
  const uint16_t scale_f16 = 0x3800;  // 0.5
  for (size_t n : {2, 8, 10, 16, 18, 34, 66}) {
    std::vector<int> codes(n);
    std::vector<float> x(n);
    double want = 0;
    for (size_t i = 0; i < n; ++i) {
      codes[i] = static_cast<int>((i * 5) % 16) - 8;  // every code -8..7
      x[i] = static_cast<float>(static_cast<int>(i % 4) + 1);
      want += x[i] * codes[i] * 0.5;
    }
    std::vector<uint8_t> packed = pack(codes);
    EXPECT_EQ(k().dot_q4(x.data(), packed.data(), n, n, &scale_f32, false), static_cast<float>(want)) << n;
    EXPECT_EQ(k().dot_q4(x.data(), packed.data(), n, n, &scale_f16, true), static_cast<float>(want)) << n;
    std::vector<float> out(n);
    k().dequant_q4(packed.data(), n, n, &scale_f16, true, out.data());
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(out[i], codes[i] * 0.5f) << "n " << n << " i " << i;
  }
}

TEST_P(FastKernels, Q4DequantRoundsTheProductToTheScaleDtype) {
  // fp16 scale 1 + 2^-10 (0x3c01): 7 * s = 7.0068359375 lies between the fp16 values 7.00390625
  // and 7.0078125 (ulp 2^-8 in [4, 8)), 1.75 ulps above 7: it rounds to 7.0078125. In fp32 the
  // product is exact. -8 * s = -8.0078125 is exact in fp16 (ulp 2^-7 in [8, 16)).
  const uint16_t s16 = 0x3c01;
  const float s32 = 1.0f + 0x1p-10f;
  std::vector<int> codes = {7, -8, 1, 0, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, -8};
  std::vector<uint8_t> packed = pack(codes);
  std::vector<float> out(codes.size());
  k().dequant_q4(packed.data(), codes.size(), codes.size(), &s16, true, out.data());
  EXPECT_EQ(out[0], 7.0078125f);
  EXPECT_EQ(out[1], -8.0078125f);
  EXPECT_EQ(out[2], 1.0009765625f);
  EXPECT_EQ(out[3], 0.0f);
  EXPECT_EQ(out[15], -8.0078125f);
  k().dequant_q4(packed.data(), codes.size(), codes.size(), &s32, false, out.data());
  EXPECT_EQ(out[0], 7.0068359375f);
  std::vector<float> x(codes.size(), 0.0f);
  x[0] = 1.0f;
  EXPECT_EQ(k().dot_q4(x.data(), packed.data(), codes.size(), codes.size(), &s16, true), 7.0078125f);
}

TEST_P(FastKernels, Q4GroupsUseTheirOwnScale) {
  // Two groups of 32 with scales 1 and 0.25 (fp32); codes 1 everywhere, x = 1: 32 + 8.
  const float scales[2] = {1.0f, 0.25f};
  std::vector<int> codes(64, 1);
  std::vector<uint8_t> packed = pack(codes);
  std::vector<float> x(64, 1.0f);
  EXPECT_EQ(k().dot_q4(x.data(), packed.data(), 64, 32, scales, false), 40.0f);
  // Groups of 10 (not a multiple of the vector width): scales 1, 2, 3 over 30 elements.
  const uint16_t s16[3] = {0x3c00, 0x4000, 0x4200};
  std::vector<int> c30(30, -1);
  std::vector<uint8_t> p30 = pack(c30);
  std::vector<float> x30(30, 1.0f);
  EXPECT_EQ(k().dot_q4(x30.data(), p30.data(), 30, 10, s16, true), -60.0f);
}

TEST_P(FastKernels, Q4RowsSumAlikeInPlaceAndDecoded) {
  // Decode (T = 1) reads codes in place, prefill dots a decoded row: the same sum, bit for bit,
  // for one scale per row and for groups of 32 (what lookahead's equality with greedy relies on).
  for (size_t n : {size_t{64}, size_t{96}, size_t{100}, size_t{2048}}) {
    for (size_t group : {n, size_t{32}}) {
      if (n % group) continue;
      std::vector<int> codes(n);
      std::vector<float> x(n);
      std::vector<uint16_t> scales(n / group);
      for (size_t i = 0; i < n; ++i) {
        codes[i] = static_cast<int>((i * 7 + i / 3) % 16) - 8;
        x[i] = 1.0f / static_cast<float>(i + 3);  // inexact sums: the order shows
      }
      for (size_t g = 0; g < scales.size(); ++g) scales[g] = static_cast<uint16_t>(0x2e66 + 17 * g);
      std::vector<uint8_t> packed = pack(codes);
      std::vector<float> row(n);
      if (k().dot_q4_split && n % 32 == 0 && group % 32 == 0) {  // the path linear takes
        std::vector<float> xs(n);
        k().split(x.data(), n, xs.data());
        k().dequant_q4_split(packed.data(), n, group, scales.data(), true, row.data());
        float in_place = k().dot_q4_split(xs.data(), packed.data(), n, group, scales.data(), true), decoded;
        k().dot_rows(xs.data(), 1, row.data(), n, &decoded, 1);
        EXPECT_EQ(in_place, decoded) << "split, n " << n << " group " << group;
        // The split row holds the same values as the plain one, reordered.
        std::vector<float> plain(n);
        k().dequant_q4(packed.data(), n, group, scales.data(), true, plain.data());
        for (size_t i = 0; i < n; ++i) EXPECT_EQ(row[i / 32 * 32 + (i % 32) / 2 + (i % 2) * 16], plain[i]) << i;
        continue;
      }
      k().dequant_q4(packed.data(), n, group, scales.data(), true, row.data());
      EXPECT_EQ(k().dot_q4(x.data(), packed.data(), n, group, scales.data(), true), k().dot_f32(x.data(), row.data(), n))
          << "n " << n << " group " << group;
    }
  }
}

TEST_P(FastKernels, RoundF16IsNearestEven) {
  const float inf = std::numeric_limits<float>::infinity();
  // (input, binary16 value): ties to even at 1, above 1 by 1.5 ulps, overflow, subnormal ties.
  const std::vector<std::pair<float, float>> cases = {
      {1.0f + 0x1p-11f, 1.0f},          {1.0f + 3 * 0x1p-11f, 1.0f + 0x1p-9f},
      {65519.0f, 65504.0f},             {65520.0f, inf},
      {-65520.0f, -inf},                {0x1p-25f, 0.0f},
      {3 * 0x1p-25f, 0x1p-23f},         {0.1f, 0.0999755859375f},
      {-2.5f, -2.5f},                   {0.0f, 0.0f},
      {1.0f + 0x1p-10f + 0x1p-11f, 1.0f + 0x1p-9f},  // odd mantissa tie rounds up
  };
  for (size_t n : {size_t{11}, size_t{17}, size_t{33}}) {
    std::vector<float> v(n), want(n);
    for (size_t i = 0; i < n; ++i) {
      v[i] = cases[i % cases.size()].first;
      want[i] = cases[i % cases.size()].second;
    }
    k().round_f16(v.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(v[i], want[i]) << "n " << n << " element " << i;
  }
  float nan = std::numeric_limits<float>::quiet_NaN();
  k().round_f16(&nan, 1);
  EXPECT_TRUE(std::isnan(nan));
}

TEST_P(FastKernels, AxpyAddsTheScaledVector) {
  for (size_t n : kSizes) {
    std::vector<float> x(n), y(n);
    for (size_t i = 0; i < n; ++i) {
      x[i] = static_cast<float>(i);
      y[i] = 1.0f;
    }
    k().axpy(0.5f, x.data(), y.data(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(y[i], 1.0f + 0.5f * static_cast<float>(i)) << n;
  }
}

INSTANTIATE_TEST_SUITE_P(Variants, FastKernels, ::testing::Values(CpuVariant::Portable, CpuVariant::Avx2, CpuVariant::Avx512),
                         [](const auto& info) { return std::string(variant_name(info.param)); });

}  // namespace
}  // namespace pte::fast
