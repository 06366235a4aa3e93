#include "protocol/wire_status.h"

#include "contract/contract.h"

namespace wasimoff::protocol {

bool is_module_refusal(std::string_view error) {
  for (std::string_view prefix : {"unsupported module:", "CompileError:", "LinkError:"})
    if (error.starts_with(prefix)) return true;
  return false;
}

Status status_from_wire(std::string_view code, std::string message) {
  if (auto c = code_from_name(code); c && *c != StatusCode::kUnknown)
    return Status{*c, std::move(message)};
  std::string_view text = message;
  StatusCode guessed = StatusCode::kUnknown;
  if (text.starts_with(contract::errors::kNotImplemented))
    guessed = StatusCode::kUnimplemented;
  else if (text.starts_with("timeout"))
    guessed = StatusCode::kDeadlineExceeded;
  else if (text.starts_with(contract::errors::kOutputTooLarge))
    guessed = StatusCode::kResourceExhausted;
  else if (is_module_refusal(text))
    guessed = StatusCode::kFailedPrecondition;
  return Status{guessed, std::move(message)};
}

}  // namespace wasimoff::protocol
