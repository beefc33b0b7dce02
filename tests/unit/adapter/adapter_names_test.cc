#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/error.h"
#include "exporter/adapter/lora_adapter.h"

namespace pte {
namespace {

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "in: " << (text)

std::vector<AdapterSpec> specs(const std::vector<std::string>& names) {
  std::vector<AdapterSpec> out;
  for (const std::string& n : names) out.push_back({n, n + ".safetensors", n + ".json"});
  return out;
}

std::string names_error(const std::vector<std::string>& names, bool multifunction) {
  try {
    validate_adapter_names(specs(names), multifunction);
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a pte::Error";
  return "";
}

TEST(AdapterNames, AcceptsIdentifiers) {
  for (bool multi : {false, true}) {
    EXPECT_NO_THROW(validate_adapter_names(specs({"style", "_x", "A1_b2", "chat"}), multi));
    EXPECT_NO_THROW(validate_adapter_names({}, multi));
  }
}

TEST(AdapterNames, RejectsNonIdentifiers) {
  for (const std::string bad : {"my-adapter", "1x", "", "a b", "a.b", "é"}) {
    const std::string e = names_error({"ok", bad}, false);
    EXPECT_CONTAINS(e, "adapter name '" + bad + "'");
    EXPECT_CONTAINS(e, "not an identifier");
  }
}

TEST(AdapterNames, RejectsDuplicates) {
  for (bool multi : {false, true}) {
    const std::string e = names_error({"style", "chat", "style"}, multi);
    EXPECT_CONTAINS(e, "duplicate adapter name 'style'");
    EXPECT_CONTAINS(e, "adapters 1 and 3");
  }
}

TEST(AdapterNames, RejectsBaseMethodNamesInSingleMethodMode) {
  std::string e = names_error({"forward"}, false);
  EXPECT_CONTAINS(e, "adapter name 'forward' is reserved");
  EXPECT_CONTAINS(e, "method of the base model");
  // `prefill` is reserved in both modes, so that a file's method names mean the same thing.
  e = names_error({"style", "prefill"}, false);
  EXPECT_CONTAINS(e, "adapter name 'prefill' is reserved");
}

TEST(AdapterNames, RejectsBaseMethodNamesInMultifunctionMode) {
  // forward_forward / prefill_prefill would not collide, but `--method forward` must mean the base.
  EXPECT_CONTAINS(names_error({"forward"}, true), "adapter name 'forward' is reserved");
  EXPECT_CONTAINS(names_error({"prefill"}, true), "adapter name 'prefill' is reserved");
}

TEST(AdapterNames, NameForwardPatternsInMultifunctionMode) {
  // "a" gives the methods a_forward/a_prefill: an adapter named a_forward would make
  // `--method a_forward` ambiguous. Without multifunction the methods are just the names.
  EXPECT_CONTAINS(names_error({"a", "a_forward"}, true),
                  "adapter name 'a_forward' is also the method 'a_forward' of adapter 'a'");
  EXPECT_CONTAINS(names_error({"a_prefill", "a"}, true),
                  "adapter name 'a_prefill' is also the method 'a_prefill' of adapter 'a'");
  EXPECT_NO_THROW(validate_adapter_names(specs({"a", "a_forward", "a_prefill"}), false));
  // ...but a repeated name yields the same NAME_forward twice.
  EXPECT_CONTAINS(names_error({"a_forward", "a", "a_forward"}, true),
                  "duplicate adapter name 'a_forward'");
}

}  // namespace
}  // namespace pte
