#include "common/status.h"

#include <array>

#include "contract/contract.h"

namespace wasimoff {
namespace {

// The failure codes' names in numeric order, from the contract (proto/contract/contract.json).
constexpr const auto& kFailureNames = contract::status::kCodes;
static_assert(kFailureNames.size() == static_cast<std::size_t>(StatusCode::kUnauthenticated));

}  // namespace

std::string_view code_name(StatusCode code) {
  auto i = static_cast<std::size_t>(code);
  if (i == 0) return "ok";
  return i <= kFailureNames.size() ? kFailureNames[i - 1] : "unknown";
}

std::optional<StatusCode> code_from_name(std::string_view name) {
  for (std::size_t i = 0; i < kFailureNames.size(); ++i)
    if (kFailureNames[i] == name) return static_cast<StatusCode>(i + 1);
  return std::nullopt;
}

unsigned http_status(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kCanceled:
      return 499;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 429;
    case StatusCode::kFailedPrecondition:
      return 400;
    case StatusCode::kAborted:
      return 409;
    case StatusCode::kOutOfRange:
      return 400;
    case StatusCode::kUnimplemented:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kUnknown:
    case StatusCode::kInternal:
    case StatusCode::kDataLoss:
      return 500;
  }
  return 500;
}

std::string Status::to_string() const {
  if (ok()) return "ok";
  std::string s(code_name());
  s += ": ";
  s += message_;
  return s;
}

}  // namespace wasimoff
