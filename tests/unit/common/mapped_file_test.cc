// MappedFile::release: how many of the mapping's pages stay resident (the mapping's Rss line in
// /proc/self/smaps) after releasing a range that starts and ends inside pages.
#include "common/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace pte {
namespace {

// Resident kB of the mapping that starts at `begin`, from /proc/self/smaps; -1 if not found.
long resident_kb(const void* begin) {
  std::ifstream smaps("/proc/self/smaps");
  std::string line;
  bool in = false;
  while (std::getline(smaps, line)) {
    unsigned long lo = 0, hi = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &lo, &hi) == 2) {  // a mapping's first line
      in = lo == reinterpret_cast<unsigned long>(begin);
      continue;
    }
    if (in && line.rfind("Rss:", 0) == 0) return std::stol(line.substr(4));
  }
  return -1;
}

TEST(MappedFile, ReleaseDropsPagesPartlyInsideAndTheFaultAroundWindowBefore) {
  const long page = ::sysconf(_SC_PAGESIZE);
  const size_t pages = 64;
  const std::string path = ::testing::TempDir() + "/mapped_file_test.bin";
  {
    std::vector<char> bytes(pages * page, 'x');
    std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  MappedFile f(path);
  volatile unsigned sum = 0;
  for (size_t i = 0; i < f.size(); i += static_cast<size_t>(page)) sum = sum + f.data()[i];
  ASSERT_EQ(resident_kb(f.data()), static_cast<long>(pages * page / 1024));
  // [page 40 + 100, page 50 + 100): pages 40..50 touched; 16 pages (64 KiB) before go too.
  const size_t first = 40, window = MappedFile::kFaultAround / static_cast<size_t>(page);
  f.release(f.data() + first * page + 100, 10 * static_cast<size_t>(page));
  const size_t dropped = 11 + window;
  EXPECT_EQ(resident_kb(f.data()), static_cast<long>((pages - dropped) * page / 1024));
  // Near the start the window stops at the mapping; bytes read again are unchanged.
  f.release(f.data() + 1, 1);
  EXPECT_EQ(resident_kb(f.data()), static_cast<long>((pages - dropped - 1) * page / 1024));
  EXPECT_EQ(f.data()[first * page + 200], 'x');
  std::remove(path.c_str());
}

}  // namespace
}  // namespace pte
