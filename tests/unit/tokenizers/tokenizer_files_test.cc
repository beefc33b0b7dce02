// Picking a model folder's tokenizer files: tokenizer.json first, else tokenizer.model, and the
// configs beside it.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "exporter/tokenizer/tokenizer_files.h"

namespace pte {
namespace {

std::string make_folder(const std::vector<std::string>& files) {
  static int counter = 0;
  std::string dir = "/tmp/pte-tokenizer-files-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  ::mkdir(dir.c_str(), 0755);
  for (const std::string& f : files) std::ofstream(dir + "/" + f) << "{}";
  return dir;
}

TEST(TokenizerFiles, PrefersTokenizerJsonThenTokenizerModel) {
  std::string both = make_folder({"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "generation_config.json"});
  TokenizerFiles f = pick_tokenizer_files(both);
  EXPECT_EQ(f.tokenizer, both + "/tokenizer.json");
  EXPECT_EQ(f.tokenizer_config, both + "/tokenizer_config.json");
  EXPECT_EQ(f.generation_config, both + "/generation_config.json");
  std::string model = make_folder({"tokenizer.model"});
  f = pick_tokenizer_files(model + "/");
  EXPECT_EQ(f.tokenizer, model + "/tokenizer.model");
  EXPECT_EQ(f.tokenizer_config, "");
  EXPECT_EQ(pick_tokenizer_files(make_folder({"config.json"})).tokenizer, "");
  std::string odd = make_folder({});
  ::mkdir((odd + "/tokenizer.json").c_str(), 0755);  // a folder of that name is no tokenizer
  EXPECT_EQ(pick_tokenizer_files(odd).tokenizer, "");
}

TEST(TokenizerFiles, ConfigsBesideAGivenTokenizer) {
  std::string dir = make_folder({"tok.bin", "generation_config.json"});
  TokenizerFiles f = tokenizer_files_for(dir + "/tok.bin");
  EXPECT_EQ(f.tokenizer, dir + "/tok.bin");
  EXPECT_EQ(f.tokenizer_config, "");
  EXPECT_EQ(f.generation_config, dir + "/generation_config.json");
}

}  // namespace
}  // namespace pte
