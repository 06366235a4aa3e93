#include "net/h3/request_head.h"

#include <charconv>

#include "common/strings.h"

namespace wasimoff::h3 {
namespace {

bool connection_specific(std::string_view lower_name) {
  return lower_name == "connection" || lower_name == "keep-alive" ||
         lower_name == "proxy-connection" || lower_name == "transfer-encoding" ||
         lower_name == "upgrade" || lower_name == "host";
}

bool has_upper(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

}  // namespace

std::optional<RequestHead> parse_request_head(const HeaderList& fields, std::string* error) {
  auto fail = [&](std::string msg) -> std::optional<RequestHead> {
    if (error) *error = std::move(msg);
    return std::nullopt;
  };
  RequestHead head;
  auto& req = head.request;
  bool seen_regular = false, has_method = false, has_scheme = false, has_path = false,
       has_authority = false, has_protocol = false;
  for (const auto& f : fields) {
    if (f.name.empty()) return fail("empty header name");
    if (has_upper(f.name)) return fail("upper-case header name: " + f.name);
    if (f.name[0] == ':') {
      if (seen_regular) return fail("pseudo-header after regular header: " + f.name);
      auto once = [&](bool& seen) {
        if (seen) return false;
        seen = true;
        return true;
      };
      if (f.name == ":method") {
        if (!once(has_method)) return fail("repeated :method");
        req.method = f.value;
      } else if (f.name == ":scheme") {
        if (!once(has_scheme)) return fail("repeated :scheme");
        req.scheme = f.value;
      } else if (f.name == ":path") {
        if (!once(has_path)) return fail("repeated :path");
        req.target = f.value;
      } else if (f.name == ":authority") {
        if (!once(has_authority)) return fail("repeated :authority");
        req.authority = f.value;
      } else if (f.name == ":protocol") {
        if (!once(has_protocol)) return fail("repeated :protocol");
        head.protocol = f.value;
      } else {
        return fail("unknown pseudo-header " + f.name);
      }
      continue;
    }
    seen_regular = true;
    if (connection_specific(f.name)) {
      if (f.name == "host" && req.authority.empty()) {
        req.authority = f.value;  // RFC 9114 §4.3.1: Host may stand in for :authority
        req.headers.add(f.name, f.value);
        continue;
      }
      if (f.name == "host") continue;
      return fail("connection-specific header field: " + f.name);
    }
    if (f.name == "te" && f.value != "trailers") return fail("TE other than trailers");
    if (f.name == "content-length") {
      std::uint64_t n = 0;
      auto [ptr, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), n);
      if (ec != std::errc() || ptr != f.value.data() + f.value.size())
        return fail("invalid content-length");
      if (head.content_length && *head.content_length != n)
        return fail("conflicting content-length");
      head.content_length = n;
    }
    req.headers.add(f.name, f.value);
  }
  if (!has_method || req.method.empty()) return fail("missing :method");
  const bool plain_connect = req.method == "CONNECT" && !has_protocol;
  if (has_protocol && req.method != "CONNECT") return fail(":protocol on a non-CONNECT request");
  if (plain_connect) {
    if (has_scheme || has_path) return fail("CONNECT with :scheme or :path");
    if (!has_authority) return fail("CONNECT without :authority");
  } else {
    if (!has_scheme || req.scheme.empty()) return fail("missing :scheme");
    if (!has_path || req.target.empty()) return fail("missing :path");
    if (has_protocol && !has_authority) return fail("extended CONNECT without :authority");
  }
  auto q = req.target.find('?');
  req.path = req.target.substr(0, q);
  req.query = q == std::string::npos ? "" : req.target.substr(q + 1);
  req.version = "HTTP/3";
  return head;
}

HeaderList request_fields(const http::Request& request, const std::string& protocol) {
  HeaderList out;
  out.push_back({":method", request.method});
  if (!protocol.empty()) out.push_back({":protocol", protocol});
  out.push_back({":scheme", request.scheme.empty() ? "https" : request.scheme});
  out.push_back({":authority", request.authority});
  out.push_back({":path", request.target.empty() ? "/" : request.target});
  for (const auto& [name, value] : request.headers) {
    auto lower = to_lower(name);
    if (connection_specific(lower)) continue;
    out.push_back({std::move(lower), value});
  }
  return out;
}

HeaderList response_fields(const http::Response& response,
                           std::optional<std::uint64_t> content_length) {
  HeaderList out;
  out.push_back({":status", std::to_string(response.status)});
  for (const auto& [name, value] : response.headers) {
    auto lower = to_lower(name);
    if (connection_specific(lower) || lower == "content-length") continue;
    if (!http::safe_header_value(value)) continue;  // never forwarded (message.h)
    out.push_back({std::move(lower), value});
  }
  const bool no_body = response.status == 204 || response.status == 304 || response.status < 200;
  if (content_length && !no_body)
    out.push_back({"content-length", std::to_string(*content_length)});
  return out;
}

std::optional<unsigned> parse_response_status(const HeaderList& fields, http::Headers* headers) {
  std::optional<unsigned> status;
  for (const auto& f : fields) {
    if (f.name == ":status") {
      unsigned v = 0;
      auto [ptr, ec] = std::from_chars(f.value.data(), f.value.data() + f.value.size(), v);
      if (ec != std::errc() || ptr != f.value.data() + f.value.size() || v < 100 || v > 999)
        return std::nullopt;
      status = v;
    } else if (!f.name.empty() && f.name[0] != ':' && headers) {
      headers->add(f.name, f.value);
    }
  }
  return status;
}

}  // namespace wasimoff::h3
