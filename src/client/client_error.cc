#include "client/client_error.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "common/status.h"
#include "common/strings.h"

namespace wasimoff::client {

namespace {

std::string compose(ClientError::Kind kind, const std::string& code, const std::string& message) {
  if (kind == ClientError::Kind::kRpc) return code + ": " + message;
  return message;
}

bool contains(std::string_view text, std::string_view needle) {
  return to_lower(text).find(needle) != std::string::npos;
}

// First line of a text body, trimmed and bounded (proxies send whole HTML pages).
std::string first_line(std::string_view body) {
  auto line = trim(body.substr(0, body.find('\n')));
  return truncate_utf8(line, 200);
}

// Connect's mapping of HTTP statuses without a Connect error body (connectrpc.com/docs/protocol).
std::string code_for_status(unsigned status) {
  switch (status) {
    case 400:
      return "internal";
    case 401:
      return "unauthenticated";
    case 403:
      return "permission_denied";
    case 404:
      return "unimplemented";
    case 429:
    case 502:
    case 503:
    case 504:
      return "unavailable";
    default:
      return "unknown";
  }
}

}  // namespace

ClientError::ClientError(Kind kind, std::string code, std::string message, unsigned http_status)
    : std::runtime_error(compose(kind, code, message)),
      kind_(kind),
      code_(std::move(code)),
      message_(std::move(message)),
      http_status_(http_status) {}

bool ClientError::queue_full() const {
  return kind_ == Kind::kRpc && code_ == "resource_exhausted" && contains(message_, "queue full");
}

std::string ClientError::hint() const {
  switch (kind_) {
    case Kind::kUnreachable:
      if (contains(message_, "certificate") || contains(message_, "tls handshake"))
        return "the broker's certificate is not trusted here: pass its CA with --ca-file (or use "
               "--insecure in test setups)";
      if (contains(message_, "closed")) return "the broker's log may say why";
      return "is the broker running there? Set its address with --broker or WASIMOFF_BROKER";
    case Kind::kProtocol:
      return "is --broker pointing at a wasimoff broker of a compatible version?";
    case Kind::kHttp:
      switch (http_status_) {
        case 401:
          return "the broker requires a client token: pass --token or set WASIMOFF_CLIENT_TOKEN";
        case 403:
          return "the broker refused this origin (WASIMOFF_ALLOWED_ORIGINS)";
        case 404:
        case 405:
          return "is --broker pointing at a wasimoff broker (including any base path)?";
        case 413:
          return "the file is larger than the broker accepts (WASIMOFF_MAX_UPLOAD_SIZE on the "
                 "broker)";
        case 415:
          return "only WebAssembly modules (.wasm) and ZIP archives can be stored";
        case 429:
          return "the broker is overloaded: retry later";
        case 502:
        case 503:
        case 504:
          return "a proxy in front of the broker could not reach it: is the broker running?";
        default:
          return http_status_ >= 500 ? "the broker's log has details" : "";
      }
    case Kind::kLocal:
      return "";
    case Kind::kRpc:
      break;
  }
  if (code_ == "unauthenticated")
    return "the broker requires a client token: pass --token or set WASIMOFF_CLIENT_TOKEN";
  if (code_ == "not_found")
    return "upload the file first (wasimoff upload <file> --name <name>) or give the path of a "
           "local file";
  if (code_ == "resource_exhausted") {
    if (queue_full())
      return "the broker's task queue is full: retry later, submit fewer tasks at once "
             "(--parallel), or raise WASIMOFF_QUEUE_SIZE on the broker";
    return "the request exceeds a size limit of the broker (WASIMOFF_MAX_MESSAGE_SIZE, "
           "WASIMOFF_MAX_UPLOAD_SIZE): upload large inputs first and refer to them by ref";
  }
  if (code_ == "unavailable") {
    if (contains(message_, "immediate"))
      return "no provider has an idle worker right now: retry, or do not request immediate mode";
    if (contains(message_, "shutting down")) return "the broker is shutting down";
    return "no provider could run the task: check that providers are connected (wasimoff_"
           "connected_providers in the broker's /metrics) and look at their logs";
  }
  if (code_ == "deadline_exceeded")
    return "the task did not finish in time: raise --timeout (or the broker's "
           "WASIMOFF_TASK_TIMEOUT)";
  if (code_ == "internal") return "the broker failed internally; its log has details";
  if (code_ == "unimplemented")
    return "the broker does not offer this call: is --broker pointing at a wasimoff broker?";
  if (code_ == "permission_denied")
    return "the broker refused this origin (WASIMOFF_ALLOWED_ORIGINS)";
  return "";
}

bool is_connect_code(std::string_view code) {
  return code_from_name(code).has_value();
}

ClientError connect_error(unsigned status, std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec && v.is_object()) {
    const auto& o = v.get_object();
    const auto* code = o.if_contains("code");
    const auto* message = o.if_contains("message");
    if (code && code->is_string()) {
      std::string text = message && message->is_string() ? std::string(message->get_string()) : "";
      return ClientError(ClientError::Kind::kRpc, std::string(code->get_string()), std::move(text),
                         status);
    }
  }
  // Not a Connect answer (a proxy, a wrong base path, an old server): report the HTTP status.
  ClientError plain = http_error(what, status, body);
  return ClientError(ClientError::Kind::kHttp, code_for_status(status), plain.message(), status);
}

ClientError envelope_error(const Status& status) {
  // Our Broker sends the code in the Envelope and, for older clients, also as the text's prefix
  // ("not_found: file not found …"); the reference Broker sends only the text.
  std::string_view text = status.message();
  auto colon = text.find(": ");
  bool prefixed = colon != std::string_view::npos && is_connect_code(text.substr(0, colon));
  std::string_view message = prefixed ? text.substr(colon + 2) : text;
  if (status.code() != StatusCode::kUnknown)
    return ClientError(
        ClientError::Kind::kRpc, std::string(status.code_name()),
        std::string(prefixed && text.substr(0, colon) == status.code_name() ? message : text));
  if (prefixed)
    return ClientError(ClientError::Kind::kRpc, std::string(text.substr(0, colon)),
                       std::string(message));
  return ClientError(ClientError::Kind::kRpc, "unknown", std::string(text));
}

ClientError http_error(std::string_view what, unsigned status, std::string_view body) {
  std::string text = first_line(body);
  std::string message = std::string(what) + " failed: HTTP " + std::to_string(status) + " " +
                        std::string(http::reason_phrase(status));
  if (!text.empty()) message += ": " + text;
  return ClientError(ClientError::Kind::kHttp, "", std::move(message), status);
}

ClientError local_error(std::string message) {
  return ClientError(ClientError::Kind::kLocal, "", std::move(message));
}

ClientError unreachable(std::string_view where, std::string_view detail) {
  return ClientError(
      ClientError::Kind::kUnreachable, "",
      "cannot reach the broker at " + std::string(where) + ": " + std::string(detail));
}

}  // namespace wasimoff::client
