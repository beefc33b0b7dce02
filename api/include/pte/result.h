#pragma once
// A value or the Status of why there is none: what every fallible API call returns.
#include <cassert>
#include <optional>
#include <utility>

#include "pte/status.h"

namespace pte {

/// Holds either a T (the call succeeded) or a failed Status. Reading the value of a failed
/// Result is a programming error (checked by assert); test ok() first.
template <typename T>
class Result {
 public:
  /// A successful result holding `value`.
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit, like returning a T
  /// A failed result; `status` must not be ok.
  Result(Status status) : status_(std::move(status)) {  // NOLINT: implicit, like returning a Status
    assert(!status_.ok());
    if (status_.ok()) status_ = Status(ErrorCode::Internal, "a Result was made from a success Status");
  }

  /// True when the result holds a value.
  bool ok() const { return value_.has_value(); }
  /// The Status: ok when the result holds a value, else the failure.
  const Status& status() const { return status_; }

  /// The value (only when ok()).
  T& value() & { assert(ok()); return *value_; }
  /// The value (only when ok()).
  const T& value() const& { assert(ok()); return *value_; }
  /// The value, moved out (only when ok()).
  T&& value() && { assert(ok()); return std::move(*value_); }

  /// The value (only when ok()).
  T& operator*() & { return value(); }
  /// The value (only when ok()).
  const T& operator*() const& { return value(); }
  /// A member of the value (only when ok()).
  T* operator->() { return &value(); }
  /// A member of the value (only when ok()).
  const T* operator->() const { return &value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace pte
