// Status and Result: the code set and its wire names, HTTP mapping, and Result's two states.
#include "common/status.h"

#include <gtest/gtest.h>

namespace wasimoff {
namespace {

TEST(Status, DefaultIsOkAndFailuresCarryCodeAndMessage) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  EXPECT_EQ(ok.to_string(), "ok");
  Status nf = not_found("file not found in storage: x");
  EXPECT_FALSE(nf.ok());
  EXPECT_EQ(nf.code(), StatusCode::kNotFound);
  EXPECT_EQ(nf.code_name(), "not_found");
  EXPECT_EQ(nf.to_string(), "not_found: file not found in storage: x");
  EXPECT_EQ(nf, (Status{StatusCode::kNotFound, "file not found in storage: x"}));
  EXPECT_NE(nf, not_found("other"));
}

TEST(Status, EveryCodeNameRoundTripsAndMapsToTheConnectHttpStatus) {
  for (int i = 1; i <= 16; ++i) {
    auto code = static_cast<StatusCode>(i);
    auto back = code_from_name(code_name(code));
    ASSERT_TRUE(back.has_value()) << i;
    EXPECT_EQ(*back, code);
  }
  EXPECT_FALSE(code_from_name("ok").has_value());
  EXPECT_FALSE(code_from_name("NOT_FOUND").has_value());
  EXPECT_FALSE(code_from_name("").has_value());
  EXPECT_EQ(http_status(StatusCode::kInvalidArgument), 400u);
  EXPECT_EQ(http_status(StatusCode::kUnauthenticated), 401u);
  EXPECT_EQ(http_status(StatusCode::kResourceExhausted), 429u);
  EXPECT_EQ(http_status(StatusCode::kCanceled), 499u);
  EXPECT_EQ(http_status(StatusCode::kUnimplemented), 501u);
  EXPECT_EQ(http_status(StatusCode::kUnavailable), 503u);
  EXPECT_EQ(http_status(StatusCode::kDeadlineExceeded), 504u);
  EXPECT_EQ(http_status(StatusCode::kDataLoss), 500u);
}

TEST(Result, HoldsAValueOrTheFailure) {
  Result<std::string> good = std::string("42");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "42");
  EXPECT_EQ(good->size(), 2u);
  EXPECT_TRUE(good.status().ok());
  Result<std::string> bad = invalid_argument("params is required");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "params is required");
  std::string moved = std::move(good).value();
  EXPECT_EQ(moved, "42");
}

}  // namespace
}  // namespace wasimoff
