#pragma once
// IEEE binary16 and bfloat16 conversions, round to nearest even, exact where representable.
// These are the reference's casts (torch .to(torch.float16) / .to(torch.bfloat16)).
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace pte {

inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

inline float half_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  if (exp == 0) {
    if (mant == 0) return bits_float(sign);
    // Subnormal: value = mant * 2^-24, exact in float.
    float v = static_cast<float>(mant) * 0x1p-24f;
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (mant << 13));
  return bits_float(sign | ((exp + 112) << 23) | (mant << 13));
}

inline uint16_t float_to_half(float f) {
  uint32_t u = float_bits(f);
  uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or nan
    return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0));
  }
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: inf
  if (abs < 0x38800000u) {  // below 2^-14: subnormal or zero in half
    // value / 2^-24 rounded to nearest even integer gives the subnormal mantissa.
    float v = bits_float(abs) * 0x1p24f;  // exact: power-of-two scaling
    float r = std::nearbyint(v);            // default rounding mode is to nearest even
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
  }
  uint32_t mant = abs & 0x7fffffu;
  uint32_t exp = (abs >> 23) - 112;
  uint32_t half = (exp << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1u))) half += 1;  // carries into exp correctly
  return static_cast<uint16_t>(sign | half);
}

inline float round_to_half(float f) { return half_to_float(float_to_half(f)); }

// The same value as round_to_half, computed without branches so loops over it vectorize:
// normal range: round the float's mantissa to 10 bits (nearest even) in place; below 2^-14:
// round to a multiple of 2^-24 by adding and removing 0.5, whose ulp is 2^-24; from 65520 on:
// infinity. NaN stays NaN.
inline float round_to_half_fast(float f) {
  const uint32_t u = float_bits(f);
  const int32_t magnitude = static_cast<int32_t>(u & 0x7fffffffu);
  const uint32_t sign = u & 0x80000000u;
  const uint32_t normal = (u + 0x0fffu + ((u >> 13) & 1u)) & 0xffffe000u;
  const uint32_t subnormal = float_bits((bits_float(static_cast<uint32_t>(magnitude)) + 0.5f) - 0.5f) | sign;
  const uint32_t huge = magnitude > 0x7f800000 ? u : (sign | 0x7f800000u);  // nan stays, else inf
  const uint32_t r = magnitude < 0x38800000 ? subnormal : normal;
  return bits_float(magnitude >= 0x477ff000 ? huge : r);
}

// Round half to even for |v| < 2^22, in the default rounding mode, without a libm call.
inline float round_half_even_small(float v) {
  const float magic = 0x1.8p23f;
  return (v + magic) - magic;
}

inline float bf16_to_float(uint16_t b) { return bits_float(static_cast<uint32_t>(b) << 16); }

inline uint16_t float_to_bf16(float f) {
  uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet nan
  uint32_t lsb = (u >> 16) & 1u;
  return static_cast<uint16_t>((u + 0x7fffu + lsb) >> 16);
}

}  // namespace pte
