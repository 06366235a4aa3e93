// The native provider against a Broker with a small message limit: a task whose output would not
// fit into one message ends with `output too large` at once, instead of an answer the Broker
// refuses (which closed the connection, and the task came back after every reconnect).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "e2e_cluster.h"
#include "wasm_builder.h"

namespace wasimoff::testing {
namespace {

using namespace std::chrono_literals;

// Writes `rounds` × 60000 bytes to stdout.
std::string chatty_module(int rounds) {
  WasmBuilder b;
  std::uint32_t fd_write_type = b.type("iiii", "i");
  std::uint32_t start_type = b.type("", "");
  std::uint32_t fd_write = b.import_func("wasi_snapshot_preview1", "fd_write", fd_write_type);
  b.memory(2);
  std::string body = WasmBuilder::i32(0) + WasmBuilder::i32(16) + std::string("\x36\x02\x00", 3);
  body += WasmBuilder::i32(4) + WasmBuilder::i32(60000) + std::string("\x36\x02\x00", 3);
  body += std::string("\x03\x40", 2);  // loop
  body += WasmBuilder::i32(1) + WasmBuilder::i32(0) + WasmBuilder::i32(1) + WasmBuilder::i32(8);
  body.push_back('\x10');
  WasmBuilder::leb(body, fd_write);
  body.push_back('\x1a');
  // local0 += 1; br_if 0 (local0 < rounds)
  body += std::string("\x20\x00", 2) + WasmBuilder::i32(1) + "\x6a" + std::string("\x22\x00", 2);
  body += WasmBuilder::i32(rounds) + "\x48" + std::string("\x0d\x00", 2);
  body += "\x0b";  // end loop
  std::uint32_t start = b.func(start_type, 1, body);
  b.export_("memory", 2, 0);
  b.export_("_start", 0, start);
  return b.bytes();
}

TEST(ProviderLimits, OutputLargerThanTheBrokersLimitIsAnErrorNotAReconnect) {
  BrokerProcess broker({{"WASIMOFF_MAX_MESSAGE_SIZE", "1MiB"}, {"WASIMOFF_DEBUG", "true"}});
  BrokerApi api(broker.url());
  NativeProvider provider(broker.url(), ProviderSpec{"limits", "websocket", 1});
  ASSERT_TRUE(api.wait_registered("limits", 60s)) << provider.log();
  std::string ref = api.upload(chatty_module(40), "chatty.wasm");  // 2.4 MB of output

  v1::Task::Wasip1::Request req;
  req.mutable_params()->mutable_binary()->set_ref(ref);
  auto started = std::chrono::steady_clock::now();
  v1::Task::Wasip1::Response r = api.run(req, 5min);
  EXPECT_EQ(r.error(), "output too large") << provider.log();
  EXPECT_EQ(r.info().provider(), "limits");
  // Below the limit, the same module works on the same connection.
  api.upload(chatty_module(4), "small.wasm");
  v1::Task::Wasip1::Request small;
  small.mutable_params()->mutable_binary()->set_ref("small.wasm");
  v1::Task::Wasip1::Response ok = api.run(small, 5min);
  ASSERT_TRUE(ok.has_ok()) << ok.error();
  EXPECT_EQ(ok.ok().stdout().size(), 240000u);
  // One connection throughout: no 1009 close, no reconnect.
  EXPECT_THAT(provider.log(), ::testing::Not(::testing::HasSubstr("reconnecting")));
  EXPECT_THAT(provider.log(), ::testing::Not(::testing::HasSubstr("disconnected")));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 120s) << "compile and two small tasks";
}

}  // namespace
}  // namespace wasimoff::testing
