#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "provider/engine/async_semaphore.h"
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

TEST(AsyncSemaphore, BoundsConcurrencyAndServesInOrder) {
  asio::io_context ioc;
  engine::AsyncSemaphore sem(ioc.get_executor(), 2);
  int running = 0, peak = 0;
  std::vector<int> order;
  auto job = [&](int id) -> asio::awaitable<void> {
    auto permit = co_await sem.acquire();
    order.push_back(id);
    peak = std::max(peak, ++running);
    co_await sleep_for(std::chrono::milliseconds(5));
    --running;
  };
  for (int i = 0; i < 6; ++i) asio::co_spawn(ioc, job(i), asio::detached);
  ioc.run();
  EXPECT_EQ(peak, 2);
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(sem.available(), 2u);
}

}  // namespace
}  // namespace wasimoff
