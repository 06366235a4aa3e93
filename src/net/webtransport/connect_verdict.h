// The answer to a WebTransport CONNECT (docs/protocol.md §7): 200 accepts the session; any other
// status refuses it, with `message` as a text/plain body (e.g. 400 "invalid provider name: …").
// Converts from a bare status so that `return 401;` works in an authorize callback.
#pragma once

#include <string>
#include <utility>

namespace wasimoff::webtransport {

struct ConnectVerdict {
  ConnectVerdict(unsigned status_code = 200, std::string text = {})  // NOLINT: implicit on purpose
      : status(status_code), message(std::move(text)) {}
  unsigned status;
  std::string message;
};

}  // namespace wasimoff::webtransport
