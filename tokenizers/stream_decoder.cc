#include "tokenizers/stream_decoder.h"

namespace pte::tokenizers {

size_t complete_utf8_prefix(std::string_view bytes) {
  // Look back at most 3 bytes for a lead byte whose sequence is not yet complete.
  const size_t n = bytes.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const unsigned char c = static_cast<unsigned char>(bytes[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for its lead
    const size_t need = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

std::string StreamDecoder::push(std::span<const int32_t> ids) {
  ids_.insert(ids_.end(), ids.begin(), ids.end());
  const std::string text = tokenizer_.decode(ids_);
  size_t end = complete_utf8_prefix(text);
  // Formats that decode an unfinished character as U+FFFD (SentencePiece) change that text
  // when its last byte arrives: hold trailing replacement characters back until then.
  while (end >= emitted_ + 3 && text.compare(end - 3, 3, "\xEF\xBF\xBD") == 0) end -= 3;
  if (end <= emitted_) return "";
  std::string out = text.substr(emitted_, end - emitted_);
  emitted_ = end;
  return out;
}

std::string StreamDecoder::finish() {
  const std::string text = tokenizer_.decode(ids_);
  std::string out = text.size() > emitted_ ? text.substr(emitted_) : "";
  emitted_ = text.size();
  return out;
}

}  // namespace pte::tokenizers
