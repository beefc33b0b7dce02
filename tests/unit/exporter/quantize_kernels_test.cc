// Every quantize_source_rows variant the CPU has, on odd sizes and groups (vector tails, blocks
// starting on an odd element), against SHA-256 digests of the codes and scales computed with
// numpy by quantize_kernels_expected.py (which holds the reference formula and the same inputs).
#include "exporter/program/quantize_kernels.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/float16.h"
#include "common/sha256.h"

namespace pte {
namespace {

struct Case {
  int64_t rows, cols, group;
  DType source, model;
  int bits;
  const char* sha256;
};

const Case kCases[] = {
    {3, 77, 0, DType::BF16, DType::F16, 4, "ca059cca16553bc6b3156eb16fc6d878190ab2e48fc9563985056a49b2bd0b88"},
    {3, 77, 0, DType::BF16, DType::F16, 8, "f1ee349fe6a8f325658a6e647bf3b45175acbd0e99aaa9e6de48b0c78b199bac"},
    {3, 77, 0, DType::BF16, DType::F32, 4, "f76f8f446d27d61f546df3713cfcce937c22a78be7fd5ef14c098638f2dd5c35"},
    {3, 77, 0, DType::BF16, DType::F32, 8, "d291042efb1c63861ea596189508cda6df5df057338bf95790f8d6bae55c68f0"},
    {3, 77, 0, DType::F16, DType::F16, 4, "3682b0812d07e45c1ae914ba47d03a2f2f7cd79b3bb71a404068983e1804bff6"},
    {3, 77, 0, DType::F16, DType::F16, 8, "5f3abc2a1b335781b4ca713d326b8083823183ad1bf8ac98b362fdc05a492b1e"},
    {3, 77, 0, DType::F16, DType::F32, 4, "f2838475b4d3ddeee36ee1a85d6b328f18e44f0e12b6063dbbd706076f43a813"},
    {3, 77, 0, DType::F16, DType::F32, 8, "3e6c9271961ddbbf660ebc9c75a1c91f074acfeb7dcb300943d089ff6f571b80"},
    {3, 77, 0, DType::F32, DType::F16, 4, "3682b0812d07e45c1ae914ba47d03a2f2f7cd79b3bb71a404068983e1804bff6"},
    {3, 77, 0, DType::F32, DType::F16, 8, "5f3abc2a1b335781b4ca713d326b8083823183ad1bf8ac98b362fdc05a492b1e"},
    {3, 77, 0, DType::F32, DType::F32, 4, "faf256c02b57a9b81ffe4c2f63b99841bca5a1e78b67d8f316817abe60edc249"},
    {3, 77, 0, DType::F32, DType::F32, 8, "7fc7c8e37a33a5b4b07d074c4ed05e29c79703545c4fb81db9d8e432f79ba173"},
    {3, 90, 45, DType::BF16, DType::F16, 4, "d7e72ebed92528a9464d0d03af70e6d78f1267989bc3944d123b3aec36cfd787"},
    {3, 90, 45, DType::BF16, DType::F16, 8, "92c75429985e170c8b65269e2b1a6476ea360e862525fee1744b7d75a63ea130"},
    {3, 90, 45, DType::BF16, DType::F32, 4, "e51d7e78de9340fbc191a015cff36ada0a7d372a857c9f597fbe3e451fefdccd"},
    {3, 90, 45, DType::BF16, DType::F32, 8, "91f992913391921baa460b43dafacfcc1b3e68dad31f44187b0605249ab28fee"},
    {3, 90, 45, DType::F16, DType::F16, 4, "af8534cc71c31108b33c9fd6aa6964cc4f90ac20e48bbfb50358b64cd07adea1"},
    {3, 90, 45, DType::F16, DType::F16, 8, "28ed97c20924b29621b5bc2cf5db8405d96335eb72ebf885473d28125d2424c0"},
    {3, 90, 45, DType::F16, DType::F32, 4, "11230d1a1d273c6ef93866fef60590fe071e800fc50a646a919e3b7d85fc864c"},
    {3, 90, 45, DType::F16, DType::F32, 8, "f9684c5947a29ea774890d78fe0ef31a51db538490f6c8caba271e3ee4a8b1b0"},
    {3, 90, 45, DType::F32, DType::F16, 4, "af8534cc71c31108b33c9fd6aa6964cc4f90ac20e48bbfb50358b64cd07adea1"},
    {3, 90, 45, DType::F32, DType::F16, 8, "28ed97c20924b29621b5bc2cf5db8405d96335eb72ebf885473d28125d2424c0"},
    {3, 90, 45, DType::F32, DType::F32, 4, "861d2b6ce050f4eda2b7191af160d6bf6d78ec4dc708f5bdd85f1a239885efda"},
    {3, 90, 45, DType::F32, DType::F32, 8, "13c587871322beb5e99560abc45f01e162d36eff7d07ad9ddf1c5d8f34b9b179"},
    {3, 64, 32, DType::BF16, DType::F16, 4, "4fdc78ced2ada5ec449b83c9a6b97c1c3462a115a8b622cc529b22caae0413d7"},
    {3, 64, 32, DType::BF16, DType::F16, 8, "227bf0e76873e2de0cedbd91ff05c1fdb3723f6c822dae713d57d1e26b55bc96"},
    {3, 64, 32, DType::BF16, DType::F32, 4, "7ff3ea8ebee7cd430166aeb0d69f29c93341ddbdd57864f5d96328e1a8dbd8eb"},
    {3, 64, 32, DType::BF16, DType::F32, 8, "77a8d625b3b968cc3b50a8e8e4513da66cb186543f56996830935e315b305419"},
    {3, 64, 32, DType::F16, DType::F16, 4, "24403f21b8a9a1afd0c54ed3fcbf005ff0e34bfea432bc6a709e7e8d9822170d"},
    {3, 64, 32, DType::F16, DType::F16, 8, "f4b14c9de7ad808082a380f42e8ecf5fbcdd592684b0d287484975b4291b9673"},
    {3, 64, 32, DType::F16, DType::F32, 4, "3e006c05bc111d5b358690db584529dc5979486aa796debf6fcf8a7618b34be4"},
    {3, 64, 32, DType::F16, DType::F32, 8, "e8a341f15c2b8f83835b275bc967c19b39a5270d1de56489490c71734689afce"},
    {3, 64, 32, DType::F32, DType::F16, 4, "24403f21b8a9a1afd0c54ed3fcbf005ff0e34bfea432bc6a709e7e8d9822170d"},
    {3, 64, 32, DType::F32, DType::F16, 8, "f4b14c9de7ad808082a380f42e8ecf5fbcdd592684b0d287484975b4291b9673"},
    {3, 64, 32, DType::F32, DType::F32, 4, "92d7eb4dd213935145481d2ff4ad53a0c7a315acfe547471f0a63fa8b102224a"},
    {3, 64, 32, DType::F32, DType::F32, 8, "dac3c8257a90355e952bb073daef740f5dfda6dcb79fb1c8e19f5a7e9e92059b"},
};

constexpr uint32_t kExpBase[] = {117, 95, 127};

// The inputs of quantize_kernels_expected.py, as source bytes of `dtype`.
std::vector<uint8_t> source_bytes(int64_t rows, int64_t cols, DType dtype) {
  std::vector<uint8_t> out;
  for (int64_t k = 0; k < rows * cols; ++k) {
    uint32_t h = static_cast<uint32_t>(static_cast<uint64_t>(k) * 2654435761u + 12345u);
    h ^= h >> 15;
    const uint32_t e = kExpBase[k / cols] + (h >> 1) % 12;
    const uint32_t u = ((h & 1u) << 31) | (e << 23) | ((h >> 5) & 0x7fffffu);
    if (dtype == DType::F32) {
      for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(u >> (8 * i)));
    } else {
      const uint16_t v = dtype == DType::BF16 ? static_cast<uint16_t>(u >> 16) : float_to_half(bits_float(u));
      out.push_back(static_cast<uint8_t>(v));
      out.push_back(static_cast<uint8_t>(v >> 8));
    }
  }
  return out;
}

// Quantizes the case in two calls (row 0, then rows 1.. at first_row 1), as the exporter does
// with its row blocks; returns the digest of codes followed by scales.
std::string run(QuantizeVariant v, const Case& c) {
  const QuantizedLayout layout{c.bits, c.group, c.model};
  const int64_t numel = c.rows * c.cols;
  const int64_t blocks = c.rows * (c.group ? c.cols / c.group : 1);
  std::vector<uint8_t> codes(c.bits == 4 ? (numel + 1) / 2 : numel, 0);
  std::vector<uint8_t> scales(static_cast<size_t>(blocks) * element_size(c.model));
  const std::vector<uint8_t> src = source_bytes(c.rows, c.cols, c.source);
  const size_t row_bytes = static_cast<size_t>(c.cols) * element_size(c.source);
  EXPECT_TRUE(quantize_source_rows(v, src.data(), c.source, 0, 1, c.cols, layout, codes.data(), scales.data()));
  EXPECT_TRUE(quantize_source_rows(v, src.data() + row_bytes, c.source, 1, c.rows - 1, c.cols, layout,
                                   codes.data(), scales.data()));
  std::vector<uint8_t> all = codes;
  all.insert(all.end(), scales.begin(), scales.end());
  return to_hex(sha256(all.data(), all.size()));
}

class QuantizeKernels : public ::testing::TestWithParam<QuantizeVariant> {};

TEST_P(QuantizeKernels, MatchNumpyOnOddShapes) {
  const QuantizeVariant v = GetParam();
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  for (const Case& c : kCases)
    EXPECT_EQ(run(v, c), c.sha256) << variant_name(v) << ": " << c.rows << "x" << c.cols << " group " << c.group
                                   << ", " << dtype_name(c.source) << " -> " << dtype_name(c.model) << ", int"
                                   << c.bits;
}

TEST_P(QuantizeKernels, RefuseInfinityAfterTheCast) {
  const QuantizeVariant v = GetParam();
  if (!cpu_supports(v)) GTEST_SKIP() << "variant " << variant_name(v) << " not run: this CPU (or build) lacks it";
  // 70000 is finite in fp32 and infinite in fp16; at index 37 it sits in a vector tail or body.
  std::vector<float> x(53, 0.25f);
  x[37] = 70000.0f;
  std::vector<uint8_t> src(x.size() * 4);
  std::memcpy(src.data(), x.data(), src.size());
  std::vector<uint8_t> codes(x.size(), 0), scales(4);
  EXPECT_FALSE(quantize_source_rows(v, src.data(), DType::F32, 0, 1, 53, {8, 0, DType::F16}, codes.data(),
                                    scales.data()));
  ASSERT_TRUE(quantize_source_rows(v, src.data(), DType::F32, 0, 1, 53, {8, 0, DType::F32}, codes.data(),
                                   scales.data()));
  EXPECT_EQ(static_cast<int8_t>(codes[37]), 127);
  EXPECT_EQ(static_cast<int8_t>(codes[0]), 0);  // 0.25 / (70000 / 127.5) = 0.00046 rounds to 0
}

INSTANTIATE_TEST_SUITE_P(Variants, QuantizeKernels,
                         ::testing::ValuesIn(all_quantize_variants()),
                         [](const ::testing::TestParamInfo<QuantizeVariant>& info) {
                           return std::string(variant_name(info.param));
                         });

}  // namespace
}  // namespace pte
