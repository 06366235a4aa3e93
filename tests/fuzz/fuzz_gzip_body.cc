// fuzz_gzip_body: gzip request bodies of the Connect API (net/http/connect_protocol.h), as
// POST /api/broker/v1/... receives them with `Content-Encoding: gzip`.
//
// Input: byte 0 picks the body limit (max_body = 16 << (byte % 12), 16 B to 32 KiB), the rest is
// the request body. Checks, for every input:
//  * gunzip never crashes and never returns more than the limit;
//  * what it returns does not depend on the limit once the limit is large enough: gunzip with
//    the largest limit yields the same bytes, and with a limit one byte below their size, nothing;
//  * check_request (Content-Type application/proto, Content-Encoding gzip) agrees with gunzip:
//    it accepts the body exactly when gunzip does and then replaces the body with its output;
//  * our output, compressed again by zlib, inflates back to itself.
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "fuzz_check.h"
#include "net/http/connect_protocol.h"

namespace {

namespace connect = wasimoff::http::connect;

std::string gzip(std::string_view data) {
  z_stream zs{};
  FUZZ_CHECK(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
                          Z_DEFAULT_STRATEGY) == Z_OK,
             "deflateInit2 failed");
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  FUZZ_CHECK(deflate(&zs, Z_FINISH) == Z_STREAM_END, "deflate did not finish");
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint64_t max_body = std::uint64_t{16} << (data[0] % 12);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);

  auto plain = connect::gunzip(body, max_body);
  if (plain) FUZZ_CHECK(plain->size() <= max_body, "gunzip returned more than the limit");

  constexpr std::uint64_t kLargest = std::uint64_t{16} << 11;
  auto unbounded = connect::gunzip(body, kLargest);
  if (plain) {
    FUZZ_CHECK(unbounded && *unbounded == *plain, "a larger limit changed the output");
    if (!plain->empty())
      FUZZ_CHECK(!connect::gunzip(body, plain->size() - 1),
                 "output larger than the limit was accepted");
  } else if (unbounded) {
    FUZZ_CHECK(unbounded->size() > max_body, "gunzip failed below the limit");
  }

  wasimoff::http::Request request;
  request.method = "POST";
  request.headers.add("Content-Type", "application/proto");
  request.headers.add("Content-Encoding", "gzip");
  request.body = std::string(body);
  auto result = connect::check_request(request, max_body);
  FUZZ_CHECK(std::holds_alternative<connect::Preamble>(result) == plain.has_value(),
             "check_request and gunzip disagree");
  if (plain) {
    FUZZ_CHECK(request.body == *plain, "check_request did not replace the body");
    FUZZ_CHECK(connect::gunzip(gzip(*plain), max_body) == plain, "gzip round trip failed");
  }
  return 0;
}
