// Status and Result<T>: how an operation that can fail says why, at every module boundary.
//
// A Status is a code from the Connect protocol's code set (docs/http-api.md §4.2) plus a human
// message. The code is what callers branch on ("was this a timeout? retry elsewhere"); the message
// is for people and logs and is never parsed. Exceptions stay inside leaf parsers; what crosses a
// module boundary as an expected failure is a Status (or a Result<T> carrying one).
//
// The code also travels on the provider wire: an Envelope Response's `code` field carries
// code_name(code) next to the `error` text; protocol/wire_status.h reads it back.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace wasimoff {

// The Connect codes, numbered as in gRPC/Connect. kOk only in an ok Status.
enum class StatusCode : unsigned char {
  kOk = 0,
  kCanceled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// The Connect wire name, e.g. "invalid_argument" ("ok" for kOk).
std::string_view code_name(StatusCode code);
// The code of a Connect wire name; nullopt for anything else (also "ok").
std::optional<StatusCode> code_from_name(std::string_view name);
// The HTTP status Connect maps the code to (kOk → 200, kUnknown/kInternal/... → 500).
unsigned http_status(StatusCode code);

class [[nodiscard]] Status {
 public:
  // An ok status.
  Status() = default;
  // A failure; `code` must not be kOk.
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {
    assert(code != StatusCode::kOk);
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  std::string_view code_name() const { return wasimoff::code_name(code_); }
  const std::string& message() const { return message_; }
  // "code_name: message" for logs ("ok" when ok).
  std::string to_string() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Shorthands for the common failures.
inline Status invalid_argument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status not_found(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status internal_error(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
inline Status unimplemented(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status deadline_exceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status resource_exhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}
inline Status canceled(std::string m) {
  return {StatusCode::kCanceled, std::move(m)};
}

// A value or the failure that prevented it. A Result never holds an ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Status error) : v_(std::move(error)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok());
  }

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // The failure; an ok Status when a value is held.
  Status status() const { return ok() ? Status{} : std::get<Status>(v_); }
  const Status& error() const { return std::get<Status>(v_); }  // precondition: !ok()

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace wasimoff
