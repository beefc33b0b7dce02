#include "common/float16.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

namespace pte {
namespace {

TEST(Float16, KnownEncodings) {
  EXPECT_EQ(float_to_half(1.0f), 0x3c00);
  EXPECT_EQ(float_to_half(-2.0f), 0xc000);
  EXPECT_EQ(float_to_half(0.1f), 0x2e66);
  EXPECT_EQ(float_to_half(65504.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65519.0f), 0x7bff);
  EXPECT_EQ(float_to_half(65520.0f), 0x7c00);  // the tie rounds up to infinity
  EXPECT_EQ(float_to_half(-1e30f), 0xfc00);
  EXPECT_EQ(float_to_half(0x1p-14f), 0x0400);  // smallest normal
  EXPECT_EQ(float_to_half(0x1p-24f), 0x0001);  // smallest subnormal
  EXPECT_EQ(float_to_half(0x1p-25f), 0x0000);  // tie between 0 and 2^-24: even is 0
  EXPECT_EQ(float_to_half(0x1.8p-24f), 0x0002);  // tie between 1 and 2 ulps: even is 2
  EXPECT_EQ(float_to_half(1.0f + 0x1p-11f), 0x3c00);        // tie: stays even
  EXPECT_EQ(float_to_half(1.0f + 3 * 0x1p-11f), 0x3c02);    // tie: rounds to even above
  EXPECT_EQ(float_to_half(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(half_to_float(float_to_half(std::nanf("")))));
  EXPECT_EQ(half_to_float(0x0001), 0x1p-24f);
  EXPECT_EQ(half_to_float(0x7bff), 65504.0f);
  EXPECT_EQ(half_to_float(0xfc00), -std::numeric_limits<float>::infinity());
}

TEST(Float16, MatchesTheCompilersConversion) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits;
  for (int i = 0; i < 2000000; ++i) {
    float f = bits_float(bits(rng));
    if (std::isnan(f)) continue;
    _Float16 h = static_cast<_Float16>(f);
    uint16_t expected;
    std::memcpy(&expected, &h, 2);
    ASSERT_EQ(float_to_half(f), expected) << "value " << f;
    ASSERT_EQ(half_to_float(expected), static_cast<float>(h));
  }
}

TEST(Float16, FastRoundingEqualsTheReferenceConversion) {
  // Every 97th float (about 44 million, all exponents, both signs) plus the edges; the full
  // 2^32 sweep was run once by hand with the same comparison.
  auto same = [](float a, float b) { return std::isnan(a) ? std::isnan(b) : float_bits(a) == float_bits(b); };
  for (uint64_t i = 0; i < (1ull << 32); i += 97) {
    float f = bits_float(static_cast<uint32_t>(i));
    ASSERT_TRUE(same(round_to_half(f), round_to_half_fast(f))) << std::hex << i;
  }
  for (float f : {0.0f, -0.0f, 0x1p-14f, 0x1.ffcp-15f, 0x1p-25f, 0x1.8p-24f, 65504.0f, 65519.99f, 65520.0f,
                  -65520.0f, std::numeric_limits<float>::infinity(), std::nanf("1")})
    ASSERT_TRUE(same(round_to_half(f), round_to_half_fast(f))) << f;
}

TEST(Float16, SmallRoundHalfEvenMatchesNearbyint) {
  for (float v = -300.0f; v <= 300.0f; v += 0.125f) ASSERT_EQ(round_half_even_small(v), std::nearbyint(v)) << v;
  EXPECT_EQ(round_half_even_small(2.5f), 2.0f);
  EXPECT_EQ(round_half_even_small(-7.5f), -8.0f);
  EXPECT_EQ(round_half_even_small(0.49999997f), 0.0f);
}

TEST(BFloat16, KnownEncodings) {
  EXPECT_EQ(float_to_bf16(1.0f), 0x3f80);
  EXPECT_EQ(float_to_bf16(1.0f + 0x1p-8f), 0x3f80);       // tie: stays even
  EXPECT_EQ(float_to_bf16(1.0f + 3 * 0x1p-8f), 0x3f82);   // tie: rounds to even above
  EXPECT_EQ(bf16_to_float(0xc040), -3.0f);
}

}  // namespace
}  // namespace pte
