// A C interface to the SentencePiece library, built as its own shared object and loaded with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) by sentencepiece_tokenizer.cc. Debian's libsentencepiece
// carries its own copy of protobuf-lite with exported symbols; linked into the same process as
// libprotobuf (which .pte piece graphs need), one would resolve the other's symbols and crash
// at start-up. Loaded this way, each keeps its own.
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

namespace {

char* copy_of(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

}  // namespace

extern "C" {

void* pte_spm_load(const char* bytes, size_t size, char** error) {
  auto* p = new sentencepiece::SentencePieceProcessor();
  const auto status = p->LoadFromSerializedProto(std::string_view(bytes, size));
  if (!status.ok()) {
    *error = copy_of(status.ToString());
    delete p;
    return nullptr;
  }
  return p;
}

void pte_spm_free(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

void pte_spm_free_buffer(void* buffer) { std::free(buffer); }

// 0: piece count, 1: bos id, 2: eos id, 3: pad id, 4: unk id (-1: none).
int pte_spm_info(void* handle, int what) {
  auto* p = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  switch (what) {
    case 0: return p->GetPieceSize();
    case 1: return p->bos_id();
    case 2: return p->eos_id();
    case 3: return p->pad_id();
    case 4: return p->unk_id();
  }
  return -1;
}

// The id of a piece, or -1 when no piece has this text.
int pte_spm_piece_to_id(void* handle, const char* piece, size_t size) {
  auto* p = static_cast<sentencepiece::SentencePieceProcessor*>(handle);
  const std::string text(piece, size);
  const int id = p->PieceToId(text);
  return id == p->unk_id() && p->IdToPiece(id) != text ? -1 : id;
}

int pte_spm_encode(void* handle, const char* text, size_t size, int** ids, size_t* count, char** error) {
  std::vector<int> out;
  const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Encode(std::string_view(text, size), &out);
  if (!status.ok()) {
    *error = copy_of(status.ToString());
    return 0;
  }
  *ids = static_cast<int*>(std::malloc(sizeof(int) * (out.size() + 1)));
  std::memcpy(*ids, out.data(), sizeof(int) * out.size());
  *count = out.size();
  return 1;
}

int pte_spm_decode(void* handle, const int* ids, size_t count, char** text, size_t* size, char** error) {
  std::string out;
  const auto status = static_cast<sentencepiece::SentencePieceProcessor*>(handle)->Decode(std::vector<int>(ids, ids + count), &out);
  if (!status.ok()) {
    *error = copy_of(status.ToString());
    return 0;
  }
  *text = copy_of(out);
  *size = out.size();
  return 1;
}

}  // extern "C"
