// Transport-independent HTTP request and response. The TCP (HTTP/1.1, Beast) server and the
// HTTP/3 server both translate to and from these types and feed the same Router, so every route
// behaves identically on both listeners (docs/http-api.md §1).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace wasimoff::http {

// Ordered header list with case-insensitive names. Names keep the spelling they were added with.
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  void add(std::string name, std::string value);
  void set(std::string name, std::string value);  // replaces every entry of that name
  void remove(std::string_view name);
  bool has(std::string_view name) const;
  // First value of `name`.
  std::optional<std::string_view> get(std::string_view name) const;
  std::vector<std::string_view> get_all(std::string_view name) const;

  const std::vector<Entry>& entries() const { return entries_; }
  auto begin() const { return entries_.begin(); }
  auto end() const { return entries_.end(); }
  std::size_t size() const { return entries_.size(); }

 private:
  std::vector<Entry> entries_;
};

struct Request {
  std::string method;     // upper case, e.g. "GET"
  std::string target;     // raw request target: path + optional "?query"
  std::string path;       // raw (still percent-encoded) path part of `target`
  std::string query;      // raw query without '?', may be empty
  std::string authority;  // Host header (HTTP/1.1) or :authority (HTTP/3)
  std::string scheme;     // "http" or "https"
  std::string version;    // "HTTP/1.1" or "HTTP/3"
  Headers headers;
  std::string body;
  std::string remote;  // peer "ip:port" ("[v6]:port" for IPv6)

  // Value of the first `key` query parameter, percent-decoded ('+' = space); nullopt if absent
  // or malformed.
  std::optional<std::string> query_param(std::string_view key) const;
  std::optional<std::string_view> header(std::string_view name) const { return headers.get(name); }
};

// A byte range of shared immutable bytes (e.g. a blob held by the storage backend).
struct SharedBytes {
  std::shared_ptr<const std::string> data;
  std::size_t offset = 0;
  std::size_t length = 0;
};

// A byte range of a file on disk, streamed by the server.
struct FileRange {
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

using Body = std::variant<std::string, SharedBytes, FileRange>;

struct Response {
  unsigned status = 200;
  Headers headers;
  Body body;
  // Set by routes that take over the connection (WebSocket upgrades on TCP); see Router.
  bool upgraded = false;

  std::uint64_t body_size() const;

  // "text/plain; charset=utf-8" response with `message` + "\n" (docs/http-api.md §1 error format).
  static Response text(unsigned status, std::string_view message);
  // application/json response with the given (already serialised) JSON body.
  static Response json(unsigned status, std::string body);
};

// Standard reason phrase ("Not Found") for a status code.
std::string_view reason_phrase(unsigned status);

// False for a header value that contains CR, LF or NUL (RFC 9110 §5.5): written out, it would
// end the header line early and let the rest pose as further headers (header injection). The
// servers never write such a value, whatever a handler put into a Response.
bool safe_header_value(std::string_view value);

}  // namespace wasimoff::http
