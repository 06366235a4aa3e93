// The Connect unary protocol rules (docs/http-api.md §4.1, §4.2).
#include "net/http/connect_protocol.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/json.hpp>

namespace wasimoff::http::connect {
namespace {

std::string gzip(const std::string& data) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&zs, data.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

Request post(std::string content_type, std::string body = "{}") {
  Request r;
  r.method = "POST";
  r.path = "/api/client/wasimoff.v1.Tasks/RunWasip1";
  r.target = r.path;
  if (!content_type.empty()) r.headers.add("Content-Type", std::move(content_type));
  r.body = std::move(body);
  return r;
}

TEST(ConnectProtocol, StatusMapping) {
  EXPECT_EQ(http_status(StatusCode::kInvalidArgument), 400u);
  EXPECT_EQ(http_status(StatusCode::kUnauthenticated), 401u);
  EXPECT_EQ(http_status(StatusCode::kNotFound), 404u);
  EXPECT_EQ(http_status(StatusCode::kResourceExhausted), 429u);
  EXPECT_EQ(http_status(StatusCode::kCanceled), 499u);
  EXPECT_EQ(http_status(StatusCode::kInternal), 500u);
  EXPECT_EQ(http_status(StatusCode::kUnimplemented), 501u);
  EXPECT_EQ(http_status(StatusCode::kUnavailable), 503u);
  EXPECT_EQ(http_status(StatusCode::kDeadlineExceeded), 504u);
  EXPECT_EQ(http_status(StatusCode::kUnknown), 500u);
  EXPECT_EQ(http_status(StatusCode::kPermissionDenied), 403u);
  EXPECT_EQ(http_status(StatusCode::kAlreadyExists), 409u);
  EXPECT_EQ(http_status(StatusCode::kDataLoss), 500u);
  // Codes are an enum now: a name outside the Connect set has no code (and so no status).
  EXPECT_FALSE(code_from_name("no_such_code").has_value());
}

TEST(ConnectProtocol, ErrorResponseBodyAndHeaders) {
  auto r = error_response(Status{StatusCode::kResourceExhausted, "queue full"});
  EXPECT_EQ(r.status, 429u);
  EXPECT_EQ(r.headers.get("Content-Type"), "application/json");
  EXPECT_EQ(r.headers.get("Retry-After"), "1");
  auto body = boost::json::parse(std::get<std::string>(r.body)).as_object();
  EXPECT_EQ(body.at("code").as_string(), "resource_exhausted");
  EXPECT_EQ(body.at("message").as_string(), "queue full");
  auto quoted = error_response(Status{StatusCode::kNotFound, "file \"x\"\nnot found"});
  EXPECT_EQ(boost::json::parse(std::get<std::string>(quoted.body)).at("message").as_string(),
            "file \"x\"\nnot found");
  EXPECT_FALSE(quoted.headers.has("Retry-After"));
  EXPECT_EQ(error_response(Status{StatusCode::kUnauthenticated, "unauthorized"})
                .headers.get("WWW-Authenticate"),
            "Bearer");
}

TEST(ConnectProtocol, ContentTypeSelectsTheCodec) {
  EXPECT_EQ(codec_for("application/json"), protocol::Codec::kJson);
  EXPECT_EQ(codec_for("application/json; charset=utf-8"), protocol::Codec::kJson);
  EXPECT_EQ(codec_for("Application/JSON"), protocol::Codec::kJson);
  EXPECT_EQ(codec_for("application/proto"), protocol::Codec::kBinary);
  EXPECT_FALSE(codec_for("application/grpc"));
  EXPECT_FALSE(codec_for("application/grpc+proto"));
  EXPECT_FALSE(codec_for("text/plain"));
  EXPECT_FALSE(codec_for(""));
  EXPECT_EQ(content_type_for(protocol::Codec::kJson), "application/json");
  EXPECT_EQ(content_type_for(protocol::Codec::kBinary), "application/proto");

  auto req = post("application/grpc");
  auto r = check_request(req, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Response>(r));
  EXPECT_EQ(std::get<Response>(r).status, 415u);
  EXPECT_EQ(std::get<Response>(r).headers.get("Accept-Post"),
            "application/json, application/proto");
  auto none = post("");
  EXPECT_TRUE(std::holds_alternative<Response>(check_request(none, 1 << 20)));
}

TEST(ConnectProtocol, TimeoutHeader) {
  auto with = [](std::string value) {
    auto req = post("application/json");
    req.headers.add("Connect-Timeout-Ms", std::move(value));
    return check_request(req, 1 << 20);
  };
  auto ok = with("1500");
  ASSERT_TRUE(std::holds_alternative<Preamble>(ok));
  EXPECT_EQ(std::get<Preamble>(ok).timeout, std::chrono::milliseconds(1500));
  EXPECT_TRUE(std::holds_alternative<Preamble>(with("9999999999")));  // 10 digits
  for (std::string bad : {"", "12345678901", "-1", "1.5", "10s", "0x10", "+5", "1 2"}) {
    auto r = with(bad);
    ASSERT_TRUE(std::holds_alternative<Status>(r)) << "[" << bad << "]";
    EXPECT_EQ(std::get<Status>(r).code_name(), "invalid_argument");
  }
  auto absent = post("application/json");
  EXPECT_FALSE(std::get<Preamble>(check_request(absent, 1 << 20)).timeout.has_value());
}

TEST(ConnectProtocol, ProtocolVersionHeader) {
  auto req = post("application/json");
  req.headers.add("Connect-Protocol-Version", "1");
  EXPECT_TRUE(std::holds_alternative<Preamble>(check_request(req, 1 << 20)));
  auto bad = post("application/json");
  bad.headers.add("Connect-Protocol-Version", "2");
  auto r = check_request(bad, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Status>(r));
  EXPECT_EQ(std::get<Status>(r).code_name(), "invalid_argument");
}

TEST(ConnectProtocol, GzipBodiesAreInflatedInPlace) {
  std::string json = R"({"params":{"args":["a","b"]}})";
  auto req = post("application/json", gzip(json));
  req.headers.add("Content-Encoding", "gzip");
  ASSERT_TRUE(std::holds_alternative<Preamble>(check_request(req, 1 << 20)));
  EXPECT_EQ(req.body, json);

  auto identity = post("application/json", json);
  identity.headers.add("Content-Encoding", "identity");
  EXPECT_TRUE(std::holds_alternative<Preamble>(check_request(identity, 1 << 20)));

  auto broken = post("application/json", "definitely not gzip");
  broken.headers.add("Content-Encoding", "gzip");
  auto r = check_request(broken, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Status>(r));
  EXPECT_EQ(std::get<Status>(r).code_name(), "invalid_argument");

  auto truncated = post("application/json", gzip(json).substr(0, 10));
  truncated.headers.add("Content-Encoding", "gzip");
  EXPECT_TRUE(std::holds_alternative<Status>(check_request(truncated, 1 << 20)));

  auto br = post("application/json", json);
  br.headers.add("Content-Encoding", "br");
  auto u = check_request(br, 1 << 20);
  ASSERT_TRUE(std::holds_alternative<Status>(u));
  EXPECT_EQ(std::get<Status>(u).code_name(), "unimplemented");
}

TEST(ConnectProtocol, BodyLimitAppliesAfterInflation) {
  std::string big(100000, 'a');  // compresses to a few hundred bytes
  auto bomb = post("application/json", gzip(big));
  bomb.headers.add("Content-Encoding", "gzip");
  auto r = check_request(bomb, 10000);
  ASSERT_TRUE(std::holds_alternative<Status>(r));
  auto plain = post("application/json", big);
  auto p = check_request(plain, 10000);
  ASSERT_TRUE(std::holds_alternative<Status>(p));
  EXPECT_EQ(std::get<Status>(p).code_name(), "resource_exhausted");
  EXPECT_TRUE(gunzip(gzip(big), 200000).has_value());
  EXPECT_FALSE(gunzip(gzip(big), 99999).has_value());
  EXPECT_EQ(gunzip(gzip(""), 10).value_or("x"), "");
}

}  // namespace
}  // namespace wasimoff::http::connect
