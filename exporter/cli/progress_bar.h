#pragma once
// A one-line progress bar on stderr, drawn only when stderr is a terminal and the work has
// taken long enough to be worth watching; erased when done.
#include <chrono>
#include <cstddef>
#include <string>

namespace pte::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  void update(size_t done, size_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace pte::cli
