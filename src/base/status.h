// Errors as values: Status and Result<T> (shaped like std::expected), RETURN_IF_ERROR / ASSIGN_OR_RETURN.
// Library exceptions are caught in adapters and turned into a Status; nothing throws across a module API.
// Thread-safety: value types, safe to copy between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "base/check.h"

namespace gpuwise::base {

// Codes follow the gRPC/absl vocabulary so that callers can react by class of failure.
enum class Code {
  kOk = 0,
  kInvalidArgument,   // bad input from outside (malformed text, bad flag)
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,  // 401/403
  kResourceExhausted, // 429, size limits, sample limits
  kFailedPrecondition,
  kAborted,           // 409
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,       // connection refused, 5xx, server down
  kDeadlineExceeded,  // timeouts
  kDataLoss,
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "INVALID_ARGUMENT: line 3 column 7: unclosed quote".
  std::string ToString() const;

  // Prefixes context: Status("x").Annotate("scraping http://a") -> "scraping http://a: x".
  Status Annotate(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
inline Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {Code::kDeadlineExceeded, std::move(m)}; }
inline Status ResourceExhausted(std::string m) { return {Code::kResourceExhausted, std::move(m)}; }
inline Status PermissionDenied(std::string m) { return {Code::kPermissionDenied, std::move(m)}; }
inline Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {Code::kFailedPrecondition, std::move(m)}; }
inline Status DataLoss(std::string m) { return {Code::kDataLoss, std::move(m)}; }

// Result<T>: a T or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    CHECK(!std::get<Status>(v_).ok()) << "Result constructed from an OK Status";
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & {
    CHECK(ok()) << "Result::value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(v_);
  }
  const T& value() const& {
    CHECK(ok()) << "Result::value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(v_);
  }
  T&& value() && {
    CHECK(ok()) << "Result::value() on error: " << std::get<Status>(v_).ToString();
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace gpuwise::base

#define GPUWISE_CONCAT_INNER(a, b) a##b
#define GPUWISE_CONCAT(a, b) GPUWISE_CONCAT_INNER(a, b)

#define RETURN_IF_ERROR(expr)                                  \
  do {                                                         \
    ::gpuwise::base::Status gpuwise_status_ = (expr);          \
    if (!gpuwise_status_.ok()) return gpuwise_status_;         \
  } while (0)

#define ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                          \
  if (!tmp.ok()) return tmp.status();         \
  lhs = std::move(tmp).value()

// ASSIGN_OR_RETURN(auto x, Foo());
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL(GPUWISE_CONCAT(gpuwise_result_, __LINE__), lhs, expr)
