// Errors of client calls, with a hint a user can act on.
//
// Kinds: the Broker could not be reached (or the connection broke), the Broker answered with a
// Connect error code (docs/http-api.md §4.2; on the client WebSocket the same codes arrive as
// "<code>: <message>" Envelope errors, docs/protocol.md §10), the Broker or a proxy answered with a
// plain HTTP error (storage routes, wrong address), an answer could not be understood, or a local
// file is the problem (an input that cannot be read or has the wrong type, a bad task file, an
// output that cannot be written).
// Application-level failures of a task (a trap, an unsupported module) are not errors of the
// call: they arrive inside Task.Wasip1.Response.error.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

#include "common/status.h"
#include "net/http/message.h"

namespace wasimoff::client {

class ClientError : public std::runtime_error {
 public:
  enum class Kind {
    kUnreachable,  // connect/read/write failed, timed out, or the socket closed
    kRpc,          // Connect error code from the Broker
    kHttp,         // HTTP error status outside the Connect protocol
    kProtocol,     // undecodable or unexpected answer
    kLocal,        // a local file problem (see above)
  };

  // `code` is the Connect code for kRpc ("" otherwise); `message` is the Broker's text or the
  // transport's reason. what() is "<code>: <message>" for kRpc and `message` otherwise.
  ClientError(Kind kind, std::string code, std::string message, unsigned http_status = 0);

  Kind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  const std::string& message() const { return message_; }
  unsigned http_status() const { return http_status_; }

  // What the user can do about it; "" when the message says it all.
  std::string hint() const;
  // True for `resource_exhausted: queue full` (the Broker asks to retry after a second).
  bool queue_full() const;

 private:
  Kind kind_;
  std::string code_;
  std::string message_;
  unsigned http_status_;
};

// The error of a Connect call `what` (e.g. "RunWasip1") answered with a status other than 200:
// kRpc with the JSON body's {"code","message"} when present; otherwise (a proxy, a wrong base
// path) kHttp with the HTTP status, the body's first line, and the code the Connect protocol
// assigns to that status (502 → unavailable, 404 → unimplemented …).
ClientError connect_error(unsigned status, std::string_view body,
                          std::string_view what = "the call");

// The error of a client-WebSocket call: the Envelope's code when it has one, else the code
// prefix of Envelope.error "<code>: <message>" (known Connect codes only; other texts become
// code "unknown"). A "<code>: " prefix that repeats the Envelope's code is dropped.
ClientError envelope_error(const Status& status);

// A non-Connect HTTP error of `what` (e.g. "upload of hello.wasm") with the plain-text body.
ClientError http_error(std::string_view what, unsigned status, std::string_view body);

// A local file problem; `message` names the file and says what is wrong with it.
ClientError local_error(std::string message);

// The Broker at `where` could not be reached or the connection failed: `detail` is the reason.
ClientError unreachable(std::string_view where, std::string_view detail);

// True for the Connect codes of docs/http-api.md §4.2 and the others of the Connect specification.
bool is_connect_code(std::string_view code);

}  // namespace wasimoff::client
