#include <gtest/gtest.h>

#include "provider/pool/worker_pool.h"

namespace wasimoff {
namespace {

TEST(PoolHelpers, DurationsAreFormattedLikeGo) {
  using std::chrono::milliseconds;
  EXPECT_EQ(pool::format_duration(milliseconds(250)), "250ms");
  EXPECT_EQ(pool::format_duration(milliseconds(1000)), "1s");
  EXPECT_EQ(pool::format_duration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(pool::format_duration(milliseconds(10000)), "10s");
  EXPECT_EQ(pool::format_duration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(pool::format_duration(milliseconds(3600000)), "1h0m0s");
  EXPECT_EQ(pool::format_duration(milliseconds(61250)), "1m1.25s");
}

}  // namespace
}  // namespace wasimoff
