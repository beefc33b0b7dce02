#include "common/sha256.h"

#include <openssl/evp.h>

#include "common/error.h"

namespace pte {
namespace {

EVP_MD_CTX* ctx(void* p) { return static_cast<EVP_MD_CTX*>(p); }

}  // namespace

Sha256::Sha256() : context_(EVP_MD_CTX_new()) {
  if (!context_ || EVP_DigestInit_ex(ctx(context_), EVP_sha256(), nullptr) != 1)
    throw Error("SHA-256: cannot initialise OpenSSL's digest");
}

Sha256::~Sha256() { EVP_MD_CTX_free(ctx(context_)); }

void Sha256::update(const void* data, size_t size) {
  if (size > 0 && EVP_DigestUpdate(ctx(context_), data, size) != 1) throw Error("SHA-256: digest update failed");
}

Sha256Digest Sha256::finish() {
  Sha256Digest out{};
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(ctx(context_), out.data(), &length) != 1 || length != out.size())
    throw Error("SHA-256: digest failed");
  return out;
}

Sha256Digest sha256(const void* data, size_t size) {
  Sha256 s;
  s.update(data, size);
  return s.finish();
}

std::string to_hex(const Sha256Digest& d) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) {
    s += digits[b >> 4];
    s += digits[b & 15];
  }
  return s;
}

}  // namespace pte
