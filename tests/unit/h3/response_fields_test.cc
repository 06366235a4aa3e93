// response_fields(): HTTP/3 response headers from an http::Response.
#include <gtest/gtest.h>

#include "net/h3/request_head.h"

namespace wasimoff::h3 {
namespace {

std::optional<std::string> field(const HeaderList& fields, const std::string& name) {
  for (const auto& f : fields)
    if (f.name == name) return f.value;
  return std::nullopt;
}

TEST(ResponseFields, HeaderValuesWithLineBreaksAreNeverWritten) {
  http::Response r = http::Response::text(200, "ok");
  r.headers.set("X-Wasimoff-Provider", "evil\r\nX-Injected: 1");
  r.headers.set("X-Other", std::string("nul\0x", 5));
  r.headers.set("X-Fine", "fine value");
  auto fields = response_fields(r, 3);
  EXPECT_EQ(field(fields, ":status"), "200");
  EXPECT_EQ(field(fields, "x-fine"), "fine value");
  EXPECT_EQ(field(fields, "content-length"), "3");
  EXPECT_FALSE(field(fields, "x-wasimoff-provider").has_value());
  EXPECT_FALSE(field(fields, "x-injected").has_value());
  EXPECT_FALSE(field(fields, "x-other").has_value());
  EXPECT_TRUE(http::safe_header_value("tab\tis fine"));
  EXPECT_FALSE(http::safe_header_value(std::string("a\0b", 3)));
  EXPECT_FALSE(http::safe_header_value("a\nb"));
}

}  // namespace
}  // namespace wasimoff::h3
