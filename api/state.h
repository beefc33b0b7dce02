#pragma once
// What the public classes hold behind their opaque pointers, and the one place where exceptions
// of the runtime become a Status.
#include <exception>
#include <memory>
#include <new>
#include <optional>

#include "common/error.h"
#include "pte/result.h"
#include "runner/file_tokenizer.h"
#include "runner/runner.h"
#include "runtime-load/loaded_program.h"

namespace pte::detail {

struct ProgramState {
  ProgramState(const std::string& path, const runtime::LoadOptions& options) : program(path, options) {}
  runtime::LoadedProgram program;
};

struct GeneratorState {
  std::shared_ptr<const ProgramState> program;  // keeps the mapping alive for the runner
  std::unique_ptr<runtime::Runner> runner;
  std::optional<runtime::FileTokenizer> tokenizer;
  std::vector<int32_t> eos;
};

// The Status of the exception being handled (call only inside a catch block).
inline Status current_exception_status() {
  try {
    throw;
  } catch (const Error& e) {
    return Status(ErrorCode::InvalidInput, e.what());
  } catch (const std::bad_alloc&) {
    return Status(ErrorCode::OutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    return Status(ErrorCode::Internal, e.what());
  } catch (...) {
    return Status(ErrorCode::Internal, "unknown error");
  }
}

// Runs `body` (returning a T or a Status); any exception becomes the Status.
template <typename F>
auto guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (...) {
    return current_exception_status();
  }
}

}  // namespace pte::detail
