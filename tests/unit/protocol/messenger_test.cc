// Messenger semantics of docs/protocol.md §3 over the in-memory transport pair.
#include "protocol/messenger.h"

#include <gtest/gtest.h>

#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "protocol/memory_transport.h"

namespace wasimoff::protocol {
namespace {

using namespace std::chrono_literals;

struct Pair {
  asio::io_context io;
  std::shared_ptr<Messenger> a, b;
  Pair() {
    auto [ta, tb] = make_memory_transport_pair(io.get_executor());
    a = std::make_shared<Messenger>(io.get_executor(), std::move(ta),
                                    Messenger::Options{"a", "peer gone"});
    b = std::make_shared<Messenger>(io.get_executor(), std::move(tb),
                                    Messenger::Options{"b", "peer gone"});
  }
  // Runs `body` as a coroutine to completion (bounded by 10 s of loop time).
  void run(std::function<awaitable<void>()> body) {
    a->start();
    b->start();
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      done = true;
      error = e;
      io.stop();
    });
    io.run_for(10s);
    ASSERT_TRUE(done) << "test coroutine did not finish";
    if (error) std::rethrow_exception(error);
  }
};

TEST(Messenger, RequestResponseRoundTrip) {
  Pair p;
  p.b->serve<v1::Filesystem::Probe::Request>(
      [](v1::Filesystem::Probe::Request& req) -> awaitable<Reply> {
        v1::Filesystem::Probe::Response r;
        r.set_ok(req.file() == "x");
        co_return Reply::with(r);
      });
  p.run([&]() -> awaitable<void> {
    v1::Filesystem::Probe::Request req;
    req.set_file("x");
    auto r = co_await p.a->call_as<v1::Filesystem::Probe::Response>(req, 5s);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (r.ok()) {
      EXPECT_TRUE(r->ok());
    }
  });
}

TEST(Messenger, UnservedRequestIsNotImplemented) {
  Pair p;
  p.run([&]() -> awaitable<void> {
    auto r = co_await p.a->call(v1::Ping(), 5s);
    EXPECT_EQ(r.error(), "not implemented");
    EXPECT_EQ(r.status.code(), StatusCode::kUnimplemented);
  });
}

// The code travels in Envelope.code: a handler's code reaches the caller as it was, not guessed
// from the text; a bare text error (a reference peer) still gets its documented meaning.
TEST(Messenger, StatusCodesCrossTheWire) {
  Pair p;
  p.b->serve<v1::Ping>([](v1::Ping&) -> awaitable<Reply> {
    co_return Reply::fail(Status{StatusCode::kNotFound, "timeout is in the text, not the code"});
  });
  p.b->serve<v1::Task::Cancel>([](v1::Task::Cancel&) -> awaitable<Reply> {
    co_return Reply::fail("CompileError: WebAssembly.Module(): bad magic");
  });
  p.run([&]() -> awaitable<void> {
    auto r = co_await p.a->call(v1::Ping(), 5s);
    EXPECT_TRUE(r.answered);
    EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
    EXPECT_EQ(r.error(), "timeout is in the text, not the code");
    auto c = co_await p.a->call(v1::Task::Cancel(), 5s);
    EXPECT_EQ(c.status.code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(c.error(), "CompileError: WebAssembly.Module(): bad magic");
  });
}

TEST(Messenger, HandlerErrorsBecomeEnvelopeErrors) {
  Pair p;
  p.b->serve<v1::Ping>([](v1::Ping&) -> awaitable<Reply> { co_return Reply::fail("busy"); });
  p.b->serve<v1::Task::Cancel>([](v1::Task::Cancel&) -> awaitable<Reply> {
    throw std::runtime_error("handler crashed");
    co_return Reply::fail("unreachable");
  });
  p.run([&]() -> awaitable<void> {
    EXPECT_EQ((co_await p.a->call(v1::Ping(), 5s)).error(), "busy");
    auto crashed = co_await p.a->call(v1::Task::Cancel(), 5s);
    EXPECT_EQ(crashed.error(), "handler crashed");
    EXPECT_EQ(crashed.status.code(), StatusCode::kUnknown);
  });
}

TEST(Messenger, WrongResponseTypeFailsTheCall) {
  Pair p;
  p.b->serve<v1::Ping>(
      [](v1::Ping&) -> awaitable<Reply> { co_return Reply::with(v1::Task::Cancel()); });
  p.run([&]() -> awaitable<void> {
    auto r = co_await p.a->call_as<v1::Ping>(v1::Ping(), 5s);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "unexpected response payload wasimoff.v1.Task.Cancel");
  });
}

TEST(Messenger, SlowHandlerDoesNotBlockOtherRequests) {
  Pair p;
  p.b->serve<v1::Task::Wasip1::Request>([](v1::Task::Wasip1::Request&) -> awaitable<Reply> {
    co_await sleep_for(1s);
    co_return Reply::with(v1::Task::Wasip1::Response());
  });
  p.b->serve<v1::Ping>([](v1::Ping&) -> awaitable<Reply> { co_return Reply::with(v1::Ping()); });
  p.run([&]() -> awaitable<void> {
    // Start the slow call, then a ping must come back long before it.
    v1::Task::Wasip1::Request slow_request;
    std::optional<CallResult> slow;
    asio::co_spawn(p.io, p.a->call(slow_request, 10s),
                   [&](std::exception_ptr, CallResult r) { slow = std::move(r); });
    auto r = co_await p.a->call(v1::Ping(), 5s);
    EXPECT_TRUE(r.ok());
    EXPECT_FALSE(slow.has_value());
    while (!slow) co_await sleep_for(10ms);
    EXPECT_TRUE(slow->ok());
  });
}

TEST(Messenger, EventsArriveInOrder) {
  Pair p;
  std::vector<std::uint32_t> seen;
  p.b->on_event([&](const google::protobuf::Message& m) {
    seen.push_back(static_cast<const v1::Event::ProviderResources&>(m).concurrency());
  });
  p.run([&]() -> awaitable<void> {
    for (std::uint32_t i = 0; i < 100; ++i) {
      v1::Event::ProviderResources e;
      e.set_concurrency(i);
      EXPECT_TRUE(p.a->send_event(e));
    }
    while (seen.size() < 100) co_await sleep_for(1ms);
  });
  for (std::uint32_t i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
}

TEST(Messenger, TimeoutAndCancellation) {
  Pair p;
  p.b->serve<v1::Ping>([](v1::Ping&) -> awaitable<Reply> {
    co_await sleep_for(2s);
    co_return Reply::with(v1::Ping());
  });
  p.run([&]() -> awaitable<void> {
    auto r = co_await p.a->call(v1::Ping(), 100ms);
    EXPECT_NE(r.error().find("timeout"), std::string::npos) << r.error();
    EXPECT_EQ(r.status.code(), StatusCode::kDeadlineExceeded);
    EXPECT_FALSE(r.answered);  // our time limit, not the peer's answer
    OneShotEvent cancel(co_await asio::this_coro::executor);
    auto canceller = [&]() -> awaitable<void> {
      co_await sleep_for(50ms);
      cancel.set();
    };
    asio::co_spawn(p.io, canceller(), asio::detached);
    auto c = co_await p.a->call(v1::Ping(), 0ms, &cancel);
    EXPECT_EQ(c.error(), "canceled");
    EXPECT_EQ(c.status.code(), StatusCode::kCanceled);
    EXPECT_EQ(p.a->pending_calls(), 0u);
  });
}

TEST(Messenger, TransportLossFailsPendingCalls) {
  Pair p;
  p.b->serve<v1::Ping>([](v1::Ping&) -> awaitable<Reply> {
    co_await sleep_for(5s);
    co_return Reply::with(v1::Ping());
  });
  p.run([&]() -> awaitable<void> {
    auto closer = [&]() -> awaitable<void> {
      co_await sleep_for(50ms);
      p.b->close(CloseCode::kNormal, "bye!");
    };
    asio::co_spawn(p.io, closer(), asio::detached);
    auto r = co_await p.a->call(v1::Ping());
    EXPECT_EQ(r.error(), "peer gone");
    EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
    co_await p.a->closed().wait();
    EXPECT_TRUE(p.a->is_closed());
    EXPECT_FALSE(p.a->send_event(v1::Ping()));
    EXPECT_EQ((co_await p.a->call(v1::Ping())).error(), "peer gone");
  });
}

TEST(Messenger, SendQueueIsBounded) {
  asio::io_context io;
  auto [ta, tb] = make_memory_transport_pair(io.get_executor(), 1);
  Messenger::Options opt{"a", "gone"};
  opt.max_queued_messages = 10;
  auto a = std::make_shared<Messenger>(io.get_executor(), std::move(ta), opt);
  // Nobody reads the other end and the writer never runs (the loop is not running): the 11th
  // message overflows and closes the messenger instead of growing without bound.
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(a->send_event(v1::Ping()));
  EXPECT_FALSE(a->send_event(v1::Ping()));
  EXPECT_TRUE(a->is_closed());
}

// A peer that stops reading (issue 11): periodic "latest value" events replace their unsent
// predecessor instead of piling up in the send queue; the peer gets the newest value once it
// reads again, and other messages keep their order around it.
TEST(Messenger, LatestEventsDoNotPileUpBehindASlowReader) {
  asio::io_context io;
  auto [ta, tb] = make_memory_transport_pair(io.get_executor(), /*capacity=*/1);
  auto a = std::make_shared<Messenger>(io.get_executor(), std::move(ta),
                                       Messenger::Options{"a", "gone"});
  auto b = std::make_shared<Messenger>(io.get_executor(), std::move(tb),
                                       Messenger::Options{"b", "gone"});
  std::vector<float> overall;
  std::vector<std::uint32_t> cluster;
  std::vector<std::string> messages;
  b->on_event([&](const google::protobuf::Message& m) {
    if (auto* t = dynamic_cast<const v1::Event::Throughput*>(&m)) overall.push_back(t->overall());
    if (auto* c = dynamic_cast<const v1::Event::ClusterInfo*>(&m))
      cluster.push_back(c->providers());
    if (auto* g = dynamic_cast<const v1::Event::GenericMessage*>(&m))
      messages.push_back(g->message());
  });
  a->start();  // b does not read yet
  std::size_t most_queued = 0;
  for (int i = 1; i <= 1000; ++i) {
    v1::Event::Throughput t;
    t.set_overall(static_cast<float>(i));
    a->send_latest_event(t);
    v1::Event::ClusterInfo c;
    c.set_providers(static_cast<std::uint32_t>(i));
    a->send_latest_event(c);
    if (i == 500) {
      v1::Event::GenericMessage g;
      g.set_message("once");
      a->send_event(g);
    }
    io.run_for(1ms);
    most_queued = std::max(most_queued, a->queued_messages());
  }
  // The writer holds one message, the transport one more; the queue keeps one of each kind plus
  // the one ordinary event.
  EXPECT_LE(most_queued, 3u);
  b->start();
  io.run_for(200ms);
  ASSERT_FALSE(overall.empty());
  ASSERT_FALSE(cluster.empty());
  EXPECT_EQ(overall.back(), 1000.0f);
  EXPECT_EQ(cluster.back(), 1000u);
  EXPECT_LE(overall.size() + cluster.size(), 8u);
  EXPECT_EQ(messages, std::vector<std::string>{"once"});
  EXPECT_EQ(a->queued_messages(), 0u);
}

}  // namespace
}  // namespace wasimoff::protocol
