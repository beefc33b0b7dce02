#pragma once
// SHA-256 (FIPS 180-4). Blobs in a .pte carry their SHA-256 so that readers can check them and
// the packer can confirm that two blobs are the same before storing one copy.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace pte {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  Sha256Digest finish();

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

Sha256Digest sha256(const void* data, size_t size);
std::string to_hex(const Sha256Digest& d);

}  // namespace pte
