// Errors on the provider wire: the Envelope code, and the reference's bare texts.
#include "protocol/wire_status.h"

#include <gtest/gtest.h>

namespace wasimoff {
namespace {

TEST(WireStatus, AnEnvelopeCodeWinsOverTheText) {
  auto s = protocol::status_from_wire("not_found", "timeout: but the code says otherwise");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "timeout: but the code says otherwise");
}

TEST(WireStatus, ReferenceTextsWithoutACodeKeepTheirDocumentedMeaning) {
  using protocol::status_from_wire;
  EXPECT_EQ(status_from_wire("", "not implemented").code(), StatusCode::kUnimplemented);
  EXPECT_EQ(status_from_wire("", "timeout: no response within 5 s").code(),
            StatusCode::kDeadlineExceeded);
  EXPECT_EQ(status_from_wire("unknown", "output too large: 17 MiB").code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(status_from_wire("", "CompileError: bad magic").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(status_from_wire("", "unsupported module: no _start").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(status_from_wire("bogus", "trap: unreachable").code(), StatusCode::kUnknown);
  EXPECT_EQ(status_from_wire("", "a timeout later in the text").code(), StatusCode::kUnknown);
}

}  // namespace
}  // namespace wasimoff
