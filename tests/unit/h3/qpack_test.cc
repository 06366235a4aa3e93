#include "net/h3/qpack.h"

#include <gtest/gtest.h>

#include "net/h3/request_head.h"

namespace wasimoff::h3 {
namespace {

TEST(Qpack, RoundTripsAFieldSection) {
  QpackEncoder enc;
  QpackDecoder dec(64 * 1024);
  HeaderList fields{{":method", "GET"},
                    {":scheme", "https"},
                    {":authority", "localhost:4443"},
                    {":path", "/api/storage/x?token=a%20b"},
                    {"user-agent", "test"},
                    {"x-custom", std::string(3000, 'v')}};
  std::string block = enc.encode(0, fields);
  std::string err;
  auto out = dec.decode(0, block, &err);
  ASSERT_TRUE(out) << err;
  EXPECT_EQ(*out, fields);
}

TEST(Qpack, EnforcesFieldSectionLimit) {
  QpackEncoder enc;
  QpackDecoder dec(1024);
  std::string block = enc.encode(4, {{"x-big", std::string(2000, 'a')}});
  std::string err;
  EXPECT_FALSE(dec.decode(4, block, &err));
  EXPECT_EQ(err, "header section too large");
}

TEST(Qpack, RejectsGarbageAndTruncation) {
  QpackEncoder enc;
  QpackDecoder dec(64 * 1024);
  std::string err;
  // Required insert count 5 refers to a dynamic table that we never allowed.
  EXPECT_FALSE(dec.decode(0, std::string("\x05\x00\x80", 3), &err));
  std::string block = enc.encode(0, {{"x-long-name", std::string(100, 'q')}});
  block.resize(block.size() / 2);
  EXPECT_FALSE(dec.decode(0, block, &err));
  EXPECT_FALSE(dec.decode(0, "", &err));
}

TEST(Qpack, RejectsDynamicTableInsertsOnEncoderStream) {
  QpackDecoder dec(64 * 1024);
  // "Set Dynamic Table Capacity 100" exceeds our advertised capacity 0.
  const std::uint8_t set_capacity[] = {0x3f, 0x45};
  EXPECT_FALSE(dec.read_encoder_stream(set_capacity));
  QpackDecoder dec2(64 * 1024);
  const std::uint8_t zero_capacity[] = {0x20};
  EXPECT_TRUE(dec2.read_encoder_stream(zero_capacity));
}

TEST(RequestHead, ParsesOrdinaryRequest) {
  std::string err;
  auto head = parse_request_head({{":method", "POST"},
                                  {":scheme", "https"},
                                  {":authority", "h:1"},
                                  {":path", "/api/x?a=1&b=2"},
                                  {"content-length", "12"},
                                  {"content-type", "text/plain"}},
                                 &err);
  ASSERT_TRUE(head) << err;
  EXPECT_EQ(head->request.method, "POST");
  EXPECT_EQ(head->request.path, "/api/x");
  EXPECT_EQ(head->request.query, "a=1&b=2");
  EXPECT_EQ(head->request.authority, "h:1");
  EXPECT_EQ(head->request.version, "HTTP/3");
  EXPECT_EQ(head->content_length, 12u);
  EXPECT_EQ(head->request.header("Content-Type"), "text/plain");
  EXPECT_TRUE(head->protocol.empty());
}

TEST(RequestHead, ParsesWebTransportConnect) {
  std::string err;
  auto head = parse_request_head({{":method", "CONNECT"},
                                  {":protocol", "webtransport"},
                                  {":scheme", "https"},
                                  {":authority", "localhost:4443"},
                                  {":path", "/transport?id=p1&token=t"},
                                  {"sec-webtransport-http3-draft02", "1"},
                                  {"origin", "http://127.0.0.1:4080"}},
                                 &err);
  ASSERT_TRUE(head) << err;
  EXPECT_EQ(head->protocol, "webtransport");
  EXPECT_EQ(head->request.path, "/transport");
  EXPECT_EQ(head->request.query_param("id"), "p1");
}

TEST(RequestHead, RejectsMalformedRequests) {
  std::string err;
  EXPECT_FALSE(parse_request_head({{":scheme", "https"}, {":path", "/"}}, &err));
  EXPECT_EQ(err, "missing :method");
  EXPECT_FALSE(parse_request_head({{":method", "GET"}, {":scheme", "https"}}, &err));
  EXPECT_FALSE(parse_request_head(
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"Upper", "x"}}, &err));
  EXPECT_FALSE(parse_request_head(
      {{":method", "GET"}, {"a", "b"}, {":scheme", "https"}, {":path", "/"}}, &err));
  EXPECT_FALSE(parse_request_head(
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"connection", "close"}}, &err));
  EXPECT_FALSE(parse_request_head(
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":bogus", "1"}}, &err));
  EXPECT_FALSE(parse_request_head(
      {{":method", "GET"}, {":protocol", "webtransport"}, {":scheme", "https"}, {":path", "/"}},
      &err));
  EXPECT_FALSE(parse_request_head(
      {{":method", "POST"}, {":scheme", "https"}, {":path", "/"}, {"content-length", "12x"}},
      &err));
}

TEST(ResponseFields, LowercasesAndDropsConnectionHeaders) {
  http::Response r;
  r.status = 404;
  r.headers.add("Content-Type", "text/plain");
  r.headers.add("Connection", "close");
  r.headers.add("Content-Length", "999");
  auto f = response_fields(r, 10);
  HeaderList want{{":status", "404"}, {"content-type", "text/plain"}, {"content-length", "10"}};
  EXPECT_EQ(f, want);
  r.status = 204;
  EXPECT_EQ(response_fields(r, 0).size(), 2u);  // no content-length on 204
}

TEST(ResponseFields, ParsesStatus) {
  http::Headers h;
  EXPECT_EQ(parse_response_status({{":status", "200"}, {"x", "y"}}, &h), 200u);
  EXPECT_EQ(h.get("x"), "y");
  EXPECT_FALSE(parse_response_status({{":status", "2x0"}}, nullptr));
  EXPECT_FALSE(parse_response_status({{"x", "y"}}, nullptr));
}

}  // namespace
}  // namespace wasimoff::h3
