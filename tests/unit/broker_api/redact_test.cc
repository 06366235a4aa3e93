// redact_secrets(): token query parameters never reach logs or error messages.
#include "net/http/redact.h"

#include <gtest/gtest.h>

namespace wasimoff::http {
namespace {

TEST(RedactSecrets, TokenValuesAreReplaced) {
  EXPECT_EQ(redact_secrets("https://b:4443/transport?id=p&token=s3cret"),
            "https://b:4443/transport?id=p&token=(redacted)");
  EXPECT_EQ(redact_secrets("/api/provider/ws?token=s3cret&id=x"),
            "/api/provider/ws?token=(redacted)&id=x");
  EXPECT_EQ(redact_secrets("/x?TOKEN=a%20b#frag"), "/x?TOKEN=(redacted)#frag");
  EXPECT_EQ(redact_secrets("connect to https://h/t?token=abc failed: 401"),
            "connect to https://h/t?token=(redacted) failed: 401");
  EXPECT_EQ(redact_secrets("/a?token=1&b=2&token=3"), "/a?token=(redacted)&b=2&token=(redacted)");
  EXPECT_EQ(redact_secrets("/a?token="), "/a?token=(redacted)");
}

TEST(RedactSecrets, OtherTextStays) {
  for (const char* same : {"", "/api/storage/x.wasm", "/a?mytoken=1", "/a?id=token=1",
                           "token=plain words", "https://h/t?id=p"}) {
    EXPECT_EQ(redact_secrets(same), same);
  }
}

}  // namespace
}  // namespace wasimoff::http
