#pragma once
// Helpers for the checkpoint tests: the PyTorch-written fixtures, scratch files, and the text of
// the pte::Error a call throws.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "common/error.h"

namespace pte::test {

// A fixture written by make_checkpoint_fixtures.py (directory from PTE_CHECKPOINT_FIXTURES).
std::string fixture(const std::string& name);

// The bytes of a string literal, embedded NULs included.
template <size_t N>
std::string bytes_of(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

// Writes `bytes` to a scratch file named `name` and returns its path.
std::string write_scratch(const std::string& name, std::string_view bytes);

// The message of the pte::Error that `fn` throws; fails the test when it throws none.
template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const pte::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected a pte::Error";
  return "";
}

}  // namespace pte::test
