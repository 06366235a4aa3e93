#include "net/http/connect_protocol.h"

#include <zlib.h>

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>

#include "common/strings.h"

namespace wasimoff::http::connect {

Response error_response(const Status& error) {
  boost::json::object body;
  body["code"] = std::string(error.code_name());
  body["message"] = error.message();
  Response r = Response::json(wasimoff::http_status(error.code()), boost::json::serialize(body));
  if (error.code() == StatusCode::kResourceExhausted) r.headers.set("Retry-After", "1");
  if (error.code() == StatusCode::kUnauthenticated) r.headers.set("WWW-Authenticate", "Bearer");
  return r;
}

std::optional<protocol::Codec> codec_for(std::string_view content_type) {
  auto semi = content_type.find(';');
  auto base = trim(content_type.substr(0, semi));
  if (iequals(base, "application/json")) return protocol::Codec::kJson;
  if (iequals(base, "application/proto")) return protocol::Codec::kBinary;
  return std::nullopt;
}

std::string_view content_type_for(protocol::Codec codec) {
  return codec == protocol::Codec::kJson ? "application/json" : "application/proto";
}

std::optional<std::string> gunzip(std::string_view data, std::uint64_t max_size) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return std::nullopt;
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > max_size || (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0)) break;
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END || out.size() > max_size) return std::nullopt;
  return out;
}

std::variant<Preamble, Status, Response> check_request(Request& request, std::uint64_t max_body) {
  Preamble p;
  auto codec = codec_for(request.header("Content-Type").value_or(""));
  if (!codec) {
    Response r =
        Response::text(415, "unsupported content type; use application/json or application/proto");
    r.headers.set("Accept-Post", "application/json, application/proto");
    return r;
  }
  p.codec = *codec;
  if (auto v = request.header("Connect-Protocol-Version"); v && trim(*v) != "1")
    return invalid_argument("Connect-Protocol-Version must be 1");
  if (auto enc = request.header("Content-Encoding")) {
    auto e = to_lower(trim(*enc));
    if (e == "gzip") {
      auto plain = gunzip(request.body, max_body);
      if (!plain) return invalid_argument("request body is not valid gzip or too large");
      request.body = std::move(*plain);
    } else if (!e.empty() && e != "identity") {
      return unimplemented("unsupported Content-Encoding: " + std::string(*enc));
    }
  }
  if (request.body.size() > max_body)
    return resource_exhausted("request larger than " + format_bytes(max_body));
  if (auto t = request.header("Connect-Timeout-Ms")) {
    auto text = trim(*t);
    std::uint64_t ms = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
    bool digits =
        !text.empty() && text.size() <= 10 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || ec != std::errc() || ptr != text.data() + text.size())
      return invalid_argument("Connect-Timeout-Ms must be 1 to 10 digits");
    p.timeout = std::chrono::milliseconds(ms);
  }
  return p;
}

}  // namespace wasimoff::http::connect
