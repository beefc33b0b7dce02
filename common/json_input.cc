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

struct BoundsCheck {
  const std::string& what;
  std::vector<std::set<std::string>> open_objects;
  std::vector<std::string>* top_level_keys;

  bool operator()(int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kMaxJsonDepth)
          throw Error(what + ": JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                      " levels");
        if (event == Json::parse_event_t::object_start) open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!open_objects.back().insert(key).second)
          throw Error(what + ": key '" + key + "' appears twice in one JSON object");
        if (open_objects.size() == 1) top_level_keys->push_back(key);
        break;
      }
      default:
        break;
    }
    return true;
  }
};

}  // namespace

ParsedJson parse_untrusted_json(std::string_view text, const std::string& what) {
  ParsedJson out;
  BoundsCheck check{what, {}, &out.top_level_keys};
  try {
    out.value = Json::parse(text.begin(), text.end(),
                            [&check](int depth, Json::parse_event_t event, Json& parsed) {
                              return check(depth, event, parsed);
                            });
  } catch (const Json::exception& e) {
    throw Error(what + ": not valid JSON: " + e.what());
  }
  if (!out.value.is_object()) out.top_level_keys.clear();
  return out;
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
