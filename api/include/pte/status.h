#pragma once
// The outcome of a call into the embedding API: success, or an error code with a one-line
// message. No exception crosses the API; every failure is reported as a Status.
#include <string>
#include <utility>

namespace pte {

/// What kind of failure a Status reports.
enum class ErrorCode {
  Ok = 0,           ///< Success.
  InvalidArgument,  ///< The caller passed a value the API does not accept (e.g. an empty prompt).
  InvalidInput,     ///< A file, method, tokenizer or prompt is invalid for this model.
  NotFound,         ///< A named method or metadata key does not exist.
  OutOfMemory,      ///< An allocation failed.
  Internal,         ///< Any other failure inside the library.
};

/// The name of an error code ("ok", "invalid_argument", ...).
const char* error_code_name(ErrorCode code);

/// Success, or an error code with a message naming the file or field at fault.
class Status {
 public:
  /// A success.
  Status() = default;
  /// A failure (or a success when `code` is ErrorCode::Ok).
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  /// True when the call succeeded.
  bool ok() const { return code_ == ErrorCode::Ok; }
  /// The error code (ErrorCode::Ok on success).
  ErrorCode code() const { return code_; }
  /// The one-line error message (empty on success).
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_ = ErrorCode::Ok;
  std::string message_;
};

}  // namespace pte
