#pragma once
// SHA-256 (FIPS 180-4), computed by OpenSSL's libcrypto, which uses the CPU's SHA
// instructions where there are some: hashing every blob of a multi-GB export must not cost
// more than writing it. Blobs in a .pte carry their SHA-256 so that readers can check them and
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
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, size_t size);
  Sha256Digest finish();

 private:
  void* context_;  // EVP_MD_CTX
};

Sha256Digest sha256(const void* data, size_t size);
std::string to_hex(const Sha256Digest& d);

}  // namespace pte
