#include "net/http/message.h"

#include "common/strings.h"

namespace wasimoff::http {

void Headers::add(std::string name, std::string value) {
  entries_.emplace_back(std::move(name), std::move(value));
}

void Headers::set(std::string name, std::string value) {
  remove(name);
  add(std::move(name), std::move(value));
}

void Headers::remove(std::string_view name) {
  std::erase_if(entries_, [&](const Entry& e) { return iequals(e.first, name); });
}

bool Headers::has(std::string_view name) const {
  return get(name).has_value();
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [k, v] : entries_)
    if (iequals(k, name)) return std::string_view(v);
  return std::nullopt;
}

std::vector<std::string_view> Headers::get_all(std::string_view name) const {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : entries_)
    if (iequals(k, name)) out.emplace_back(v);
  return out;
}

std::optional<std::string> Request::query_param(std::string_view key) const {
  for (auto part : split(query, '&')) {
    auto eq = part.find('=');
    auto name = percent_decode(part.substr(0, eq), true);
    if (!name || *name != key) continue;
    if (eq == std::string_view::npos) return std::string();
    return percent_decode(part.substr(eq + 1), true);
  }
  return std::nullopt;
}

std::uint64_t Response::body_size() const {
  struct Visitor {
    std::uint64_t operator()(const std::string& s) const { return s.size(); }
    std::uint64_t operator()(const SharedBytes& b) const { return b.length; }
    std::uint64_t operator()(const FileRange& f) const { return f.length; }
  };
  return std::visit(Visitor{}, body);
}

Response Response::text(unsigned status, std::string_view message) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "text/plain; charset=utf-8");
  std::string body(message);
  if (body.empty() || body.back() != '\n') body.push_back('\n');
  r.body = std::move(body);
  return r;
}

Response Response::json(unsigned status, std::string body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

bool safe_header_value(std::string_view value) {
  return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 422:
      return "Unprocessable Entity";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace wasimoff::http
