#include "common/json_input.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <set>

#include "common/error.h"
#include "common/regular_file.h"

namespace pte {

namespace {

using Json = nlohmann::json;

// Builds the value from SAX events. (nlohmann's callback parser rescans an object's children at
// the end of each child object, which is quadratic for a safetensors header.)
class BoundedBuilder final : public nlohmann::json_sax<Json> {
 public:
  BoundedBuilder(const std::string& what, Json& root, const JsonMemberCallback* on_member = nullptr)
      : what_(what), root_(root), on_member_(on_member) {}

  bool null() override { return put(Json(nullptr)); }
  bool boolean(bool v) override { return put(Json(v)); }
  bool number_integer(number_integer_t v) override { return put(Json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return put(Json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return put(Json(v)); }
  bool string(string_t& v) override { return put(Json(std::move(v))); }
  bool binary(binary_t&) override { throw Error(what_ + ": binary values are not JSON"); }

  bool start_object(std::size_t) override { return open(Json::object()); }
  bool start_array(std::size_t) override { return open(Json::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& k) override {
    const bool member = stack_.size() == 1;
    if (member && on_member_ ? !member_keys_.insert(k).second : stack_.back()->contains(k))
      throw Error(what_ + ": key '" + k + "' appears twice in one JSON object");
    if (member && on_member_) member_key_ = k;
    pending_key_ = std::move(k);
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    throw Error(what_ + ": not valid JSON: " + e.what());
  }

 private:
  // Places `v` where the parser is (the root, an array's end or the pending key) and returns it.
  Json* place(Json&& v) {
    if (stack_.empty()) {
      if (on_member_ && !v.is_object()) throw Error(what_ + ": expected a JSON object, found " + v.type_name());
      root_ = std::move(v);
      return &root_;
    }
    if (on_member_ && stack_.size() == 1) {  // a member of the streamed object: built aside
      member_ = std::move(v);
      if (!member_.is_structured()) (*on_member_)(member_key_, std::move(member_));
      return &member_;
    }
    Json& parent = *stack_.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    return &(parent[pending_key_] = std::move(v));
  }
  bool put(Json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(Json&& v) {
    if (stack_.size() >= static_cast<size_t>(kMaxJsonDepth))
      throw Error(what_ + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    stack_.push_back(place(std::move(v)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    if (on_member_ && stack_.size() == 1) (*on_member_)(member_key_, std::move(member_));
    return true;
  }

  const std::string& what_;
  Json& root_;
  // The open containers. A pointer stays valid: nothing is added to a container's parent while
  // the container is open (a parent array may reallocate only after its child is closed).
  std::vector<Json*> stack_;
  std::string pending_key_;
  // Streaming (parse_untrusted_json_members): the member being built, its key, and every key seen.
  const JsonMemberCallback* on_member_;
  Json member_;
  std::string member_key_;
  std::set<std::string> member_keys_;
};

}  // namespace

ParsedJson parse_untrusted_json(std::string_view text, const std::string& what) {
  ParsedJson out;
  BoundedBuilder builder(what, out.value);
  try {
    Json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const Json::exception& e) {
    throw Error(what + ": not valid JSON: " + e.what());
  }
  return out;
}

void parse_untrusted_json_members(std::string_view text, const std::string& what, const JsonMemberCallback& on_member) {
  Json root;
  BoundedBuilder builder(what, root, &on_member);
  try {
    Json::sax_parse(text.begin(), text.end(), &builder);
  } catch (const Json::exception& e) {
    throw Error(what + ": not valid JSON: " + e.what());
  }
}

std::string read_small_file(const std::string& path, size_t max_bytes) {
  RegularFile file(path);
  if (file.size() > max_bytes)
    throw Error(path + ": file of " + std::to_string(file.size()) + " bytes exceeds the limit of " +
                std::to_string(max_bytes) + " bytes");
  std::string text(file.size(), '\0');
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(file.fd(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(path + ": cannot read: " + std::strerror(errno));
    if (n == 0) throw Error(path + ": file shrank while it was read");
    done += static_cast<size_t>(n);
  }
  return text;
}

void CappedWarnings::add(std::string warning) {
  if (kept_.size() < limit_)
    kept_.push_back(std::move(warning));
  else
    ++dropped_;
}

std::vector<std::string> CappedWarnings::lines(const std::string& kind) const {
  std::vector<std::string> out = kept_;
  if (dropped_ > 0) out.push_back("... and " + std::to_string(dropped_) + " more " + kind);
  return out;
}

}  // namespace pte
