#include "common/json_input.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "common/error.h"

namespace pte {
namespace {

std::string error_of(std::string_view text) {
  try {
    parse_untrusted_json(text, "/m/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(JsonInput, ParsesAndKeepsTopLevelOrder) {
  ParsedJson p = parse_untrusted_json(R"({"b": 1, "a": {"z": [1, 2]}, "c": "x"})", "t");
  EXPECT_EQ(p.value["a"]["z"][1], 2);
  std::vector<std::string> keys;
  nlohmann::json a;
  parse_untrusted_json_members(R"({"b": 1, "a": {"z": [1, 2]}, "c": "x"})", "t",
                               [&](const std::string& key, nlohmann::json&& value) {
                                 keys.push_back(key);
                                 if (key == "a") a = std::move(value);
                               });
  EXPECT_EQ(keys, (std::vector<std::string>{"b", "a", "c"}));
  EXPECT_EQ(a["z"][1], 2);
  try {
    parse_untrusted_json_members("[1, 2]", "t", [](const std::string&, nlohmann::json&&) {});
    FAIL() << "an array was streamed as an object";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "t: expected a JSON object, found array");
  }
}

TEST(JsonInput, DepthAtTheLimitIsAcceptedOneMoreIsRefused) {
  const std::string ok = std::string(kMaxJsonDepth, '[') + std::string(kMaxJsonDepth, ']');
  EXPECT_EQ(error_of(ok), "");
  const std::string deep = std::string(kMaxJsonDepth + 1, '[') + std::string(kMaxJsonDepth + 1, ']');
  EXPECT_EQ(error_of(deep), "/m/config.json: JSON nested deeper than 64 levels");
}

TEST(JsonInput, HundredThousandLevelsAreRefusedWithoutRecursing) {
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"r\":";
  deep += "1";
  deep += std::string(100000, '}');
  EXPECT_EQ(error_of(deep), "/m/config.json: JSON nested deeper than 64 levels");
  EXPECT_EQ(error_of("{\"r\": " + std::string(100000, '[')),
            "/m/config.json: JSON nested deeper than 64 levels");
}

TEST(JsonInput, DuplicateKeysAreRefusedAtAnyLevel) {
  EXPECT_EQ(error_of(R"({"dim": 1, "dim": 2})"),
            "/m/config.json: key 'dim' appears twice in one JSON object");
  EXPECT_EQ(error_of(R"({"a": {"x": 1, "y": 2, "x": 3}})"),
            "/m/config.json: key 'x' appears twice in one JSON object");
  EXPECT_EQ(error_of(R"({"a": {"x": 1}, "b": {"x": 1}})"), "");
}

TEST(JsonInput, InvalidTextNamesTheSource) {
  const std::string e = error_of("{\"a\": ");
  EXPECT_EQ(e.rfind("/m/config.json: not valid JSON: ", 0), 0u) << e;
}

TEST(JsonInput, ManyKeysParseInLinearithmicTime) {
  std::string text = "{";
  for (int i = 0; i < 200000; ++i) text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":1";
  text += "}";
  ParsedJson p = parse_untrusted_json(text, "t");
  EXPECT_EQ(p.value.size(), 200000u);
  EXPECT_EQ(p.value["k199999"], 1);
}

TEST(ReadSmallFile, RefusesFifosDirectoriesAndDevicesWithoutBlocking) {
  const std::string fifo = ::testing::TempDir() + "/json_input_fifo";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  try {
    read_small_file(fifo);
    FAIL() << "a FIFO was read";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), fifo + ": expected a regular file, found a FIFO");
  }
  ::unlink(fifo.c_str());
  EXPECT_THROW(read_small_file("/dev/null"), Error);
  EXPECT_THROW(read_small_file(::testing::TempDir()), Error);
}

TEST(ReadSmallFile, ReadsAndBoundsTheSize) {
  const std::string path = ::testing::TempDir() + "/json_input_small.json";
  std::ofstream(path) << "{\"a\": 1}";
  EXPECT_EQ(read_small_file(path), "{\"a\": 1}");
  try {
    read_small_file(path, 4);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": file of 8 bytes exceeds the limit of 4 bytes");
  }
  std::remove(path.c_str());
}

TEST(CappedWarnings, KeepsTheFirstAndCountsTheRest) {
  CappedWarnings w(2);
  for (int i = 0; i < 5; ++i) w.add("unknown field 'k" + std::to_string(i) + "'");
  EXPECT_EQ(w.lines("unknown fields"),
            (std::vector<std::string>{"unknown field 'k0'", "unknown field 'k1'",
                                      "... and 3 more unknown fields"}));
  EXPECT_EQ(CappedWarnings(2).lines("x"), std::vector<std::string>{});
}

}  // namespace
}  // namespace pte
