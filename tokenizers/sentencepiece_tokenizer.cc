#include "tokenizers/sentencepiece_tokenizer.h"

#include <dlfcn.h>

#include <vector>

#include "common/error.h"

namespace pte::tokenizers {
namespace {

// The functions of sentencepiece_shim.cc, loaded once.
struct Shim {
  void* (*load)(const char*, size_t, char**);
  void (*free)(void*);
  void (*free_buffer)(void*);
  int (*info)(void*, int);
  int (*piece_to_id)(void*, const char*, size_t);
  int (*encode)(void*, const char*, size_t, int**, size_t*, char**);
  int (*decode)(void*, const int*, size_t, char**, size_t*, char**);
};

const Shim& shim() {
  static const Shim s = [] {
    // The build tree's copy, else an installed one by name (the program's run path, then the
    // system library path).
    const int flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
    void* lib = ::dlopen(PTE_SENTENCEPIECE_SHIM, flags);
    if (!lib) lib = ::dlopen(PTE_SENTENCEPIECE_SHIM_NAME, flags);
    if (!lib) throw Error(std::string("cannot load the SentencePiece library: ") + ::dlerror());
    auto get = [lib](const char* name) {
      void* f = ::dlsym(lib, name);
      if (!f) throw Error(std::string("the SentencePiece shim lacks ") + name);
      return f;
    };
    Shim t;
    t.load = reinterpret_cast<decltype(t.load)>(get("pte_spm_load"));
    t.free = reinterpret_cast<decltype(t.free)>(get("pte_spm_free"));
    t.free_buffer = reinterpret_cast<decltype(t.free_buffer)>(get("pte_spm_free_buffer"));
    t.info = reinterpret_cast<decltype(t.info)>(get("pte_spm_info"));
    t.piece_to_id = reinterpret_cast<decltype(t.piece_to_id)>(get("pte_spm_piece_to_id"));
    t.encode = reinterpret_cast<decltype(t.encode)>(get("pte_spm_encode"));
    t.decode = reinterpret_cast<decltype(t.decode)>(get("pte_spm_decode"));
    return t;
  }();
  return s;
}

// Takes ownership of a message the shim allocated.
std::string take_message(char* message) {
  std::string s = message ? message : "unknown error";
  shim().free_buffer(message);
  return s;
}

}  // namespace

SentencePieceTokenizer::SentencePieceTokenizer(std::string_view bytes, const std::string& source) : source_(source) {
  char* error = nullptr;
  handle_ = shim().load(bytes.data(), bytes.size(), &error);
  if (!handle_) throw Error(source + ": not a valid SentencePiece model: " + take_message(error));
  size_ = shim().info(handle_, 0);
  if (size_ <= 0) {
    shim().free(handle_);
    throw Error(source + ": SentencePiece model has no pieces");
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() { shim().free(handle_); }

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
  int* ids = nullptr;
  size_t count = 0;
  char* error = nullptr;
  if (!shim().encode(handle_, text.data(), text.size(), &ids, &count, &error))
    throw Error(source_ + ": SentencePiece cannot encode the text: " + take_message(error));
  std::vector<int32_t> out(ids, ids + count);
  shim().free_buffer(ids);
  return out;
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids) const {
  std::vector<int> list;
  for (int32_t id : ids) {
    if (id < 0 || id >= size_)
      throw Error(source_ + ": token id " + std::to_string(id) + " is outside the vocabulary of " +
                  std::to_string(size_) + " tokens");
    list.push_back(id);
  }
  char* text = nullptr;
  size_t size = 0;
  char* error = nullptr;
  if (!shim().decode(handle_, list.data(), list.size(), &text, &size, &error))
    throw Error(source_ + ": SentencePiece cannot decode the ids: " + take_message(error));
  std::string out(text, size);
  shim().free_buffer(text);
  return out;
}

SpecialTokens SentencePieceTokenizer::special_tokens() const {
  SpecialTokens s;
  if (int bos = shim().info(handle_, 1); bos >= 0) s.bos = bos;
  if (int eos = shim().info(handle_, 2); eos >= 0) s.eos.push_back(eos);
  if (int pad = shim().info(handle_, 3); pad >= 0) s.pad = pad;
  return s;
}

std::optional<int32_t> SentencePieceTokenizer::token_id(std::string_view token) const {
  const int id = shim().piece_to_id(handle_, token.data(), token.size());
  return id < 0 ? std::nullopt : std::optional<int32_t>(id);
}

}  // namespace pte::tokenizers
