// The Scheduler (docs/scheduling.md) with real ProviderSessions over in-memory transports:
// admission, queue order, selection and fairness, avoid list, retries, capabilities, capacity
// changes, cancellation and deadlines.
//
// Time is a ManualClock shared by the scheduler, the registry and the sessions (and their
// Messengers' call time limits): nothing sleeps for real. run() drives the loop and lets virtual
// time jump to the next timer only when nothing else can happen, so waits for time-based
// behaviour (back-off, attempt timeout, cancel grace, deadlines) take no real time, and a test
// can move the clock itself (clock.advance + settle()) to check when exactly something happens.
#include "broker/tasks/scheduler.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "common/clock.h"
#include "fake_provider.h"

namespace wasimoff::broker {
namespace {

using namespace std::chrono_literals;
using testing::FakeProvider;

// ASSERT_* cannot be used in coroutines (they `return`): fail and leave the coroutine instead.
#define CO_ASSERT(condition)                          \
  if (!(condition)) {                                 \
    ADD_FAILURE() << "assertion failed: " #condition; \
    co_return;                                        \
  }

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest() {
    registry.timing.ping_interval = std::chrono::hours(1);  // no pings in these tests
    registry.timing.silence_timeout = std::chrono::milliseconds(0);
  }

  void make_scheduler(Scheduler::Options o = {}) {
    o.cancel_grace = cancel_grace;
    o.clock = &clock;
    scheduler = std::make_unique<Scheduler>(io.get_executor(), registry, o, observer);
  }

  // Runs `body` on the loop to completion. Whenever the loop has nothing ready, the settle()
  // waiters are woken; when there are none, the clock jumps to the next timer. Bounded: a body
  // that waits for something that can no longer happen fails instead of hanging.
  void run(std::function<awaitable<void>()> body) {
    if (!scheduler) make_scheduler();
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      done = true;
      error = e;
    });
    const auto end = clock.steady_now() + 1h;  // virtual
    while (!done) {
      io.restart();
      if (io.poll() > 0) continue;
      if (!idle_waiters_.empty()) {
        auto waiters = std::move(idle_waiters_);
        idle_waiters_.clear();
        for (auto* w : waiters) w->set();
        continue;
      }
      auto next = clock.next_wake();
      if (!next || *next > end) break;
      clock.advance(*next - clock.steady_now());
    }
    ASSERT_TRUE(done) << "test coroutine did not finish";
    if (error) std::rethrow_exception(error);
  }

  // Returns once the loop has nothing left to do at the current time (the clock does not move):
  // e.g. gives a wrong dispatch the chance to happen.
  awaitable<void> settle() {
    OneShotEvent idle(io.get_executor());
    idle_waiters_.push_back(&idle);
    co_await idle.wait();
  }

  // Waits until `condition` holds, checking every (virtual) millisecond, for at most `timeout`
  // on the clock; returns its final value.
  awaitable<bool> until(std::function<bool()> condition, std::chrono::milliseconds timeout = 10s) {
    auto end = clock.steady_now() + timeout;
    while (!condition()) {
      if (clock.steady_now() >= end) co_return false;
      co_await clock.sleep_for(1ms);
    }
    co_return true;
  }

  // Providers live as long as the fixture: coroutines of theirs may still be pending when a
  // test body ends.
  FakeProvider* provider(std::string name, std::uint32_t capacity,
                         std::vector<std::string> files = {}) {
    providers_.push_back(
        std::make_unique<FakeProvider>(io, registry, std::move(name), capacity, std::move(files)));
    return providers_.back().get();
  }

  // Waits until `n` providers are registered and their capacities arrived.
  awaitable<void> registered(std::size_t n, std::uint64_t total_capacity) {
    bool ok = co_await until([&] {
      return registry.registered().size() == n && registry.total_capacity() == total_capacity;
    });
    EXPECT_TRUE(ok) << "providers did not register";
  }

  std::shared_ptr<Task> task(std::string arg, bool priority = false, bool immediate = false,
                             std::vector<std::string> refs = {}) {
    auto req = std::make_unique<v1::Task::Wasip1::Request>();
    req->mutable_info()->set_id(scheduler->next_id());
    req->mutable_info()->mutable_trace();  // trace on: attempts are visible
    req->mutable_params()->mutable_binary()->set_ref("sha256:" + std::string(64, '0'));
    req->mutable_params()->add_args("t.wasm");
    req->mutable_params()->add_args(std::move(arg));
    if (priority) req->mutable_qos()->set_priority(true);
    if (immediate) req->mutable_qos()->set_immediate(true);
    auto t = std::make_shared<Task>(io.get_executor(), std::move(*req), nullptr, clock);
    t->required_refs = std::move(refs);
    return t;
  }

  std::shared_ptr<Task> pyodide_task() {
    auto req = std::make_unique<v1::Task::Pyodide::Request>();
    req->mutable_info()->set_id(scheduler->next_id());
    req->mutable_info()->mutable_trace();
    req->mutable_params()->set_script("print(1)");
    return std::make_shared<Task>(io.get_executor(), std::move(*req), nullptr, clock);
  }

  static std::string output(const std::shared_ptr<Task>& t) {
    if (t->error()) return "error " + t->error()->to_string();
    return std::get<v1::Task::Wasip1::Response>(*t->response()).ok().stdout();
  }

  static std::vector<std::string> attempts(const std::shared_ptr<Task>& t) {
    std::vector<std::string> out;
    for (const auto& e : t->info().trace().events())
      if (e.event() == v1::Task::TraceEvent::BrokerScheduleTask) out.push_back(e.details());
    return out;
  }

  awaitable<void> wait_done(const std::shared_ptr<Task>& t) {
    bool ok = co_await until([&] { return t->done().is_set(); });
    EXPECT_TRUE(ok) << "task " << t->id() << " did not finish";
  }

  ManualClock clock;  // first: outlives everything with a timer on it
  asio::io_context io;
  std::chrono::milliseconds cancel_grace = 10s;
  SchedulerObserver observer;
  ProviderRegistry registry{io.get_executor(), clock};
  std::unique_ptr<Scheduler> scheduler;
  std::vector<std::unique_ptr<FakeProvider>> providers_;
  std::vector<OneShotEvent*> idle_waiters_;
};

TEST(RetryDelay, FollowsTheSpecifiedCurve) {
  // 10 ms × 10^((i−2)/4) for attempts 2…10 (docs/scheduling.md §6), rounded to milliseconds.
  std::vector<long> expected = {10, 18, 32, 56, 100, 178, 316, 562, 1000};
  long total = 0;
  for (int attempt = 2; attempt <= 10; ++attempt) {
    auto d = retry_delay(attempt).count();
    EXPECT_EQ(d, expected[static_cast<std::size_t>(attempt - 2)]) << "attempt " << attempt;
    total += d;
  }
  EXPECT_NEAR(total, 2300, 50);  // ≈ 2.3 s in total
}

TEST_F(SchedulerTest, QueueOrderIsPriorityThenAdmission) {
  run([&]() -> awaitable<void> {
    std::vector<std::shared_ptr<Task>> tasks = {task("n1"), task("n2"), task("p1", true),
                                                task("n3"), task("p2", true)};
    for (auto& t : tasks) EXPECT_FALSE(scheduler->admit(t).has_value());
    EXPECT_EQ(scheduler->queued(), 5u);
    auto p = provider("serial", 1);
    co_await registered(1, 1);
    for (auto& t : tasks) co_await wait_done(t);
    std::vector<std::string> order;
    for (const auto& id : p->received)
      for (auto& t : tasks)
        if (t->id() == id) order.push_back(output(t));
    EXPECT_EQ(order, (std::vector<std::string>{"p1", "p2", "n1", "n2", "n3"}));
    EXPECT_EQ(scheduler->queued(), 0u);
  });
}

TEST_F(SchedulerTest, AdmissionRules) {
  make_scheduler(Scheduler::Options{3});
  run([&]() -> awaitable<void> {
    auto late = task("late");
    late->deadline = clock.system_now() - 1s;
    auto err = scheduler->admit(late);
    CO_ASSERT(err.has_value());
    EXPECT_EQ(err->code_name(), "deadline_exceeded");

    auto now = task("now", false, true);
    err = scheduler->admit(now);
    CO_ASSERT(err.has_value());
    EXPECT_EQ(err->code_name(), "unavailable");
    EXPECT_EQ(err->message(), "qos: no idle workers for immediate mode");

    EXPECT_FALSE(scheduler->admit(task("q1")).has_value());
    EXPECT_FALSE(scheduler->admit(task("q2")).has_value());
    // A job needing two slots does not fit into the one that is left: nothing is queued.
    err = scheduler->admit_all({task("j1"), task("j2")});
    CO_ASSERT(err.has_value());
    EXPECT_EQ(err->code_name(), "resource_exhausted");
    EXPECT_EQ(scheduler->queued(), 2u);
    EXPECT_FALSE(scheduler->admit(task("q3")).has_value());
    err = scheduler->admit(task("q4"));
    CO_ASSERT(err.has_value());
    EXPECT_EQ(err->code_name(), "resource_exhausted");
    EXPECT_EQ(err->message(), "queue full");
    co_return;
  });
}

TEST_F(SchedulerTest, LowestLoadRatioThenLeastRecentlyAssigned) {
  run([&]() -> awaitable<void> {
    auto a = provider("a", 4);
    auto b = provider("b", 2);
    a->mode = b->mode = FakeProvider::Mode::kHold;
    co_await registered(2, 6);
    std::vector<std::string> chosen;
    std::size_t seen_a = 0;
    for (std::size_t i = 0; i < 6; ++i) {
      EXPECT_FALSE(scheduler->admit(task(std::to_string(i))).has_value());
      EXPECT_TRUE(co_await until([&] { return a->received.size() + b->received.size() == i + 1; }));
      bool to_a = a->received.size() > seen_a;
      seen_a = a->received.size();
      chosen.push_back(to_a ? "a" : "b");
    }
    // a 0/4 vs b 0/2: tie, a registered first → a; then b (0 < ¼); a (¼ < ½); ½ = ½ and a was
    // used last → b; then a twice (½, ¾ < 1).
    EXPECT_EQ(chosen, (std::vector<std::string>{"a", "b", "a", "b", "a", "a"}));
    EXPECT_LE(a->max_running, 4u);
    EXPECT_LE(b->max_running, 2u);
    a->release_all();
    b->release_all();
  });
}

TEST_F(SchedulerTest, FileAffinityBeforeLoad) {
  const std::string ref = "sha256:" + std::string(64, 'f');
  run([&]() -> awaitable<void> {
    auto plain = provider("plain", 2);
    auto holder = provider("holder", 2, {ref});
    plain->mode = holder->mode = FakeProvider::Mode::kHold;
    co_await registered(2, 4);
    std::vector<std::shared_ptr<Task>> tasks;
    for (int i = 0; i < 3; ++i) {
      tasks.push_back(task(std::to_string(i), false, false, {ref}));
      scheduler->admit(tasks.back());
    }
    EXPECT_TRUE(co_await until([&] { return holder->running() + plain->running() == 3; }));
    // The holder is preferred while it has a free slot, even at a higher load.
    EXPECT_EQ(holder->received.size(), 2u);
    EXPECT_EQ(plain->received.size(), 1u);
    plain->release_all();
    holder->release_all();
    for (auto& t : tasks) co_await wait_done(t);

    // A FileSystemUpdate counts like the Listing.
    const std::string ref2 = "sha256:" + std::string(64, 'e');
    plain->mode = holder->mode = FakeProvider::Mode::kEcho;
    plain->add_files({ref2});
    EXPECT_TRUE(co_await until([&] { return plain->session->has_files({ref2}); }));
    for (int i = 0; i < 3; ++i) {
      auto t = task("x", false, false, {ref2});
      scheduler->admit(t);
      co_await wait_done(t);
      EXPECT_EQ(t->info().provider(), "plain");
    }
  });
}

TEST_F(SchedulerTest, FailedProviderIsAvoidedUnlessItIsTheOnlyOne) {
  const std::string ref = "sha256:" + std::string(64, 'a');
  run([&]() -> awaitable<void> {
    auto bad = provider("bad", 1, {ref});
    auto good = provider("good", 1);
    bad->mode = FakeProvider::Mode::kEnvelopeError;
    co_await registered(2, 2);
    auto t = task("x", false, false, {ref});
    scheduler->admit(t);
    co_await wait_done(t);
    EXPECT_EQ(output(t), "x");
    EXPECT_EQ(t->info().provider(), "good");
    EXPECT_EQ(bad->received.size(), 1u);
    EXPECT_EQ(attempts(t), (std::vector<std::string>{"attempt 1", "attempt 2"}));

    good->disconnect();
    EXPECT_TRUE(co_await until([&] { return registry.registered().size() == 1; }));
    bad->mode = FakeProvider::Mode::kEcho;
    // Fail once more, then succeed: with one provider the avoid list is ignored.
    auto flaky_once = task("y", false, false, {ref});
    bad->mode = FakeProvider::Mode::kEnvelopeError;
    scheduler->admit(flaky_once);
    EXPECT_TRUE(co_await until([&] { return bad->received.size() == 2; }));
    bad->mode = FakeProvider::Mode::kEcho;
    co_await wait_done(flaky_once);
    EXPECT_EQ(output(flaky_once), "y");
    EXPECT_EQ(flaky_once->info().provider(), "bad");
  });
}

TEST_F(SchedulerTest, TenFailedAttemptsGiveUnavailableWithEveryError) {
  int retries_observed = 0;
  observer.retry = [&](int attempt) {
    EXPECT_EQ(attempt, retries_observed + 2);
    ++retries_observed;
  };
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kEnvelopeError;
    p->error_text = "boom";
    co_await registered(1, 1);
    auto t = task("x");
    scheduler->admit(t);
    // While backing off the task is neither queued nor holding a slot.
    EXPECT_TRUE(co_await until([&] { return scheduler->dispatching() == 1; }));
    EXPECT_EQ(scheduler->queued(), 0u);
    EXPECT_EQ(p->session->active, 0u);
    co_await wait_done(t);
    CO_ASSERT(t->error().has_value());
    EXPECT_EQ(t->error()->code_name(), "unavailable");
    std::string expected;
    for (int i = 1; i <= 10; ++i)
      expected += (i > 1 ? "\n" : "") + fmt::format("attempt {} (p): boom", i);
    EXPECT_EQ(t->error()->message(), expected);
    EXPECT_EQ(p->received.size(), 10u);
    EXPECT_EQ(scheduler->dispatching(), 0u);
    // Trace event 20 carries the same text (once).
    int broker_errors = 0;
    for (const auto& e : t->info().trace().events())
      if (e.event() == v1::Task::TraceEvent::BrokerError) {
        ++broker_errors;
        EXPECT_EQ(e.details(), expected);
      }
    EXPECT_EQ(broker_errors, 1);
  });
  EXPECT_EQ(retries_observed, 9);
}

TEST_F(SchedulerTest, DisconnectMidTaskRetriesElsewhere) {
  run([&]() -> awaitable<void> {
    auto first = provider("first", 1, {"sha256:" + std::string(64, '1')});
    provider("second", 1);
    first->mode = FakeProvider::Mode::kHold;
    co_await registered(2, 2);
    auto t = task("x", false, false, {"sha256:" + std::string(64, '1')});
    scheduler->admit(t);
    EXPECT_TRUE(co_await until([&] { return first->running() == 1; }));
    first->disconnect();
    co_await wait_done(t);
    EXPECT_EQ(output(t), "x");
    EXPECT_EQ(t->info().provider(), "second");
  });
}

TEST_F(SchedulerTest, NotImplementedMarksTheKindAndRequeuesForFree) {
  run([&]() -> awaitable<void> {
    auto native = provider("native", 2);
    native->pyodide = false;
    co_await registered(1, 2);
    auto py = pyodide_task();
    scheduler->admit(py);
    EXPECT_TRUE(
        co_await until([&] { return native->received.size() == 1 && scheduler->queued() == 1; }));
    EXPECT_FALSE(native->session->supports(TaskKind::kPyodide));
    EXPECT_TRUE(native->session->supports(TaskKind::kWasip1));
    // The waiting Pyodide task does not block Wasip1 tasks behind it.
    auto w = task("w");
    scheduler->admit(w);
    co_await wait_done(w);
    EXPECT_EQ(output(w), "w");
    EXPECT_FALSE(py->done().is_set());

    provider("browser", 1);
    co_await wait_done(py);
    EXPECT_FALSE(py->error().has_value());
    EXPECT_EQ(py->info().provider(), "browser");
    EXPECT_EQ(attempts(py), (std::vector<std::string>{"attempt 1", "attempt 1"}));
    EXPECT_EQ(native->received.size(), 2u);  // the Pyodide task once, the Wasip1 task once
  });
}

// A provider that reconnects again and again to refuse the same task cannot bounce it forever:
// after Scheduler::kMaxRefusals refusals of one task further ones are failed attempts.
TEST_F(SchedulerTest, RefusalsOfOneTaskAreBoundedThenCountAsAttempts) {
  Scheduler::Options o;
  o.max_attempts = 2;
  make_scheduler(o);
  run([&]() -> awaitable<void> {
    auto busy = provider("busy", 1);  // could run it, but its only slot stays taken
    busy->mode = FakeProvider::Mode::kHold;
    co_await registered(1, 1);
    auto blocker = task("blocker");
    scheduler->admit(blocker);
    EXPECT_TRUE(co_await until([&] { return busy->running() == 1; }));
    auto t = task("bounced");
    scheduler->admit(t);
    for (int i = 0; i < Scheduler::kMaxRefusals + 2 && !t->done().is_set(); ++i) {
      auto r = provider("refuser" + std::to_string(i), 1);
      r->mode = FakeProvider::Mode::kEnvelopeError;
      r->error_text = "unsupported module: refused";
      EXPECT_TRUE(co_await until([&] { return !r->received.empty(); })) << i;
      // Refused: back in the queue (or in back-off once refusals count as attempts).
      EXPECT_TRUE(co_await until([&] {
        return t->done().is_set() || scheduler->queued() + scheduler->dispatching() == 1;
      })) << i;
      if (i < Scheduler::kMaxRefusals) {
        EXPECT_FALSE(t->done().is_set()) << i;
      }
      r->disconnect();
      EXPECT_TRUE(co_await until([&] { return registry.registered().size() == 1; })) << i;
    }
    co_await wait_done(t);
    EXPECT_TRUE(t->error().has_value());
    EXPECT_EQ(t->error().value_or(Status{}).code_name(), "unavailable");
    // Every assignment up to the bound was "attempt 1"; the two beyond it were real attempts.
    auto a = attempts(t);
    std::vector<std::string> expected(Scheduler::kMaxRefusals + 1, "attempt 1");
    expected.push_back("attempt 2");
    EXPECT_EQ(a, expected);
    busy->release_all();
    co_await wait_done(blocker);
  });
}

TEST_F(SchedulerTest, LoweredCapacityStopsAssignmentUntilBelow) {
  run([&]() -> awaitable<void> {
    auto p = provider("p", 3);
    p->mode = FakeProvider::Mode::kHold;
    co_await registered(1, 3);
    std::vector<std::shared_ptr<Task>> tasks;
    for (int i = 0; i < 5; ++i) {
      tasks.push_back(task(std::to_string(i)));
      scheduler->admit(tasks.back());
    }
    EXPECT_TRUE(co_await until([&] { return p->running() == 3; }));
    p->set_capacity(1);
    EXPECT_TRUE(co_await until([&] { return p->session->capacity() == 1; }));
    p->release(tasks[0]->id());
    p->release(tasks[1]->id());
    co_await wait_done(tasks[1]);
    co_await settle();                  // give a wrong dispatch the chance to happen
    EXPECT_EQ(p->received.size(), 3u);  // a = 1 is not below c = 1
    EXPECT_EQ(scheduler->queued(), 2u);
    p->release(tasks[2]->id());
    EXPECT_TRUE(co_await until([&] { return p->received.size() == 4; }));
    EXPECT_EQ(p->running(), 1u);
    p->release_all();
    EXPECT_TRUE(co_await until([&] { return p->received.size() == 5; }));
    p->release_all();
    for (auto& t : tasks) co_await wait_done(t);
    EXPECT_LE(p->max_running, 3u);
  });
}

TEST_F(SchedulerTest, AnnouncedCapacityIsCappedByTheLimit) {
  registry.limits.max_concurrency = 3;
  run([&]() -> awaitable<void> {
    auto greedy = provider("greedy", 4294967295u);
    greedy->mode = FakeProvider::Mode::kHold;
    co_await registered(1, 3);
    EXPECT_EQ(greedy->session->capacity(), 3u);
    std::vector<std::shared_ptr<Task>> tasks;
    for (int i = 0; i < 5; ++i) {
      tasks.push_back(task(std::to_string(i)));
      scheduler->admit(tasks.back());
    }
    EXPECT_TRUE(co_await until([&] { return greedy->running() == 3; }));
    co_await settle();
    EXPECT_EQ(scheduler->queued(), 2u);  // the rest waits for an honest slot
    greedy->set_capacity(2);             // below the cap: taken as announced
    EXPECT_TRUE(co_await until([&] { return greedy->session->capacity() == 2; }));
    greedy->release_all();
    for (int i = 0; i < 3; ++i) greedy->release_all();
    for (auto& t : tasks) {
      greedy->release_all();
      co_await wait_done(t);
    }
    EXPECT_LE(greedy->max_running, 3u);
  });
}

TEST_F(SchedulerTest, AttemptTimeoutRetriesElsewhereAndRepeatedTimeoutsCloseTheProvider) {
  int timeouts = 0, closes = 0;
  observer.attempt_timed_out = [&] { ++timeouts; };
  observer.provider_closed_for_timeouts = [&] { ++closes; };
  Scheduler::Options o;
  o.attempt_timeout = 100ms;
  o.max_timeout_strikes = 2;
  make_scheduler(o);
  run([&]() -> awaitable<void> {
    auto slow = provider("slow", 2);
    slow->mode = FakeProvider::Mode::kSilent;
    co_await registered(1, 2);
    auto t1 = task("first");
    scheduler->admit(t1);
    EXPECT_TRUE(co_await until([&] { return slow->received.size() == 1; }));
    auto fast = provider("fast", 1);
    co_await registered(2, 3);
    co_await wait_done(t1);
    EXPECT_EQ(output(t1), "first");
    EXPECT_EQ(attempts(t1), (std::vector<std::string>{"attempt 1", "attempt 2"}));
    EXPECT_TRUE(co_await until([&] { return slow->cancels.size() == 1; }));
    EXPECT_EQ(slow->cancels[0].reason(), "attempt timeout");
    EXPECT_EQ(timeouts, 1);
    EXPECT_FALSE(slow->session->closing());
    // Once the provider confirmed the cancel, the slot is free again.
    EXPECT_TRUE(co_await until([&] { return slow->session->active == 0; }));

    // A task whose deadline comes before the bound is ended by its deadline, not retried.
    fast->disconnect();
    co_await registered(1, 2);
    auto t2 = task("deadline");
    t2->deadline = clock.system_now() + 50ms;
    scheduler->admit(t2);
    co_await wait_done(t2);
    CO_ASSERT(t2->error().has_value());
    EXPECT_EQ(t2->error()->code_name(), "deadline_exceeded");
    EXPECT_EQ(timeouts, 1);

    // The second timeout in a row closes the provider.
    auto t3 = task("third");
    scheduler->admit(t3);
    EXPECT_TRUE(co_await until([&] { return slow->session->closing(); }));
    EXPECT_EQ(timeouts, 2);
    EXPECT_EQ(closes, 1);
    EXPECT_EQ(slow->session->messenger().close_reason(),
              "closed: 2 task attempts in a row timed out");
    provider("rescue", 1);
    co_await wait_done(t3);
    EXPECT_EQ(output(t3), "third");
  });
}

TEST_F(SchedulerTest, CancelFreesTheSlotAtTheFirstAnswer) {
  cancel_grace = 300ms;
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kHold;
    co_await registered(1, 1);

    // (1) The provider answers the task (as cancelled): the slot frees, the next task runs.
    auto t1 = task("1");
    auto t2 = task("2");
    scheduler->admit(t1);
    scheduler->admit(t2);
    EXPECT_TRUE(co_await until([&] { return p->running() == 1; }));
    scheduler->cancel(t1, "context canceled", canceled("context canceled"));
    EXPECT_TRUE(t1->done().is_set());
    EXPECT_EQ(t1->error()->code_name(), "canceled");
    EXPECT_TRUE(co_await until([&] { return p->received.size() == 2; }));
    CO_ASSERT(p->cancels.size() == 1u);
    EXPECT_EQ(p->cancels[0].id(), t1->id());
    EXPECT_EQ(p->cancels[0].reason(), "context canceled");

    // (2) Silent provider, no Cancel answer: the slot frees after the grace period.
    p->mode = FakeProvider::Mode::kSilent;
    p->answer_cancels = false;
    p->release_all();
    co_await wait_done(t2);
    auto t3 = task("3");
    auto t4 = task("4");
    scheduler->admit(t3);
    scheduler->admit(t4);
    EXPECT_TRUE(co_await until([&] { return p->received.size() == 3; }));
    scheduler->cancel(t3, "deadline exceeded", deadline_exceeded("deadline exceeded"));
    EXPECT_EQ(p->session->active, 1u);  // still held during the grace period
    EXPECT_TRUE(co_await until([&] { return p->received.size() == 4; }, 5s));
    EXPECT_EQ(p->cancels.back().reason(), "deadline exceeded");
    scheduler->cancel(t4, "context canceled", canceled("context canceled"));
  });
}

TEST_F(SchedulerTest, DeadlineRemovesQueuedAndCancelsActiveTasks) {
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kHold;
    co_await registered(1, 1);
    // The queued task expires first, while the active one still holds the only slot.
    auto active = task("active");
    active->deadline = clock.system_now() + 400ms;
    auto queued = task("queued");
    queued->deadline = clock.system_now() + 150ms;
    scheduler->admit(active);
    scheduler->admit(queued);
    co_await wait_done(active);
    co_await wait_done(queued);
    EXPECT_EQ(active->error()->code_name(), "deadline_exceeded");
    EXPECT_EQ(queued->error()->code_name(), "deadline_exceeded");
    EXPECT_TRUE(co_await until([&] { return p->cancels.size() == 1; }));
    EXPECT_EQ(p->cancels[0].id(), active->id());
    EXPECT_EQ(p->cancels[0].reason(), "deadline exceeded");
    // The queued task never reached the provider; the forwarded deadline did.
    EXPECT_TRUE(co_await until([&] { return p->running() == 0; }));
    EXPECT_EQ(p->received.size(), 1u);
    EXPECT_TRUE(active->qos().has_deadline());
  });
}

// Timing checked to the nanosecond on the ManualClock (not testable with real sleeps).

TEST_F(SchedulerTest, BackOffWaitsExactlyTheRetryDelay) {
  Scheduler::Options o;
  o.max_attempts = 4;
  make_scheduler(o);
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kEnvelopeError;
    co_await registered(1, 1);
    auto t = task("x");
    scheduler->admit(t);
    co_await settle();
    EXPECT_EQ(p->received.size(), 1u);
    // docs/scheduling.md §6: 10 ms before attempt 2, 18 ms before 3, 32 ms before 4.
    const std::vector<std::chrono::milliseconds> delays = {10ms, 18ms, 32ms};
    for (std::size_t attempt = 2; attempt <= 4; ++attempt) {
      CO_ASSERT(scheduler->dispatching() == 1u);
      clock.advance(delays[attempt - 2] - 1ns);
      co_await settle();
      EXPECT_EQ(p->received.size(), attempt - 1) << "attempt " << attempt << " came early";
      clock.advance(1ns);
      co_await settle();
      EXPECT_EQ(p->received.size(), attempt) << "attempt " << attempt << " did not come";
    }
    EXPECT_TRUE(t->done().is_set());
    EXPECT_EQ(t->error().value_or(Status{}).code_name(), "unavailable");
  });
}

TEST_F(SchedulerTest, DeadlineFiresAtTheDeadlineNotBefore) {
  run([&]() -> awaitable<void> {
    // A deadline that is now is already past at admission; one a nanosecond later is not.
    auto late = task("late");
    late->deadline = clock.system_now();
    auto err = scheduler->admit(late);
    CO_ASSERT(err.has_value());
    EXPECT_EQ(err->code_name(), "deadline_exceeded");

    auto t = task("queued");  // no provider: it stays queued
    t->deadline = clock.system_now() + 250ms;
    EXPECT_FALSE(scheduler->admit(t).has_value());
    clock.advance(250ms - 1ns);
    co_await settle();
    EXPECT_FALSE(t->done().is_set());
    EXPECT_EQ(scheduler->queued(), 1u);
    clock.advance(1ns);
    co_await settle();
    EXPECT_TRUE(t->done().is_set());
    EXPECT_EQ(t->error().value_or(Status{}).code_name(), "deadline_exceeded");
    EXPECT_EQ(scheduler->queued(), 0u);
  });
}

TEST_F(SchedulerTest, AttemptTimeoutFiresAtTheBoundNotBefore) {
  int timeouts = 0;
  observer.attempt_timed_out = [&] { ++timeouts; };
  Scheduler::Options o;
  o.attempt_timeout = 2s;
  make_scheduler(o);
  run([&]() -> awaitable<void> {
    auto slow = provider("slow", 1);
    slow->mode = FakeProvider::Mode::kSilent;
    co_await registered(1, 1);
    auto t = task("x");
    scheduler->admit(t);
    co_await settle();
    EXPECT_EQ(slow->received.size(), 1u);
    clock.advance(2s - 1ns);
    co_await settle();
    EXPECT_EQ(timeouts, 0);
    EXPECT_TRUE(slow->cancels.empty());
    clock.advance(1ns);
    co_await settle();
    EXPECT_EQ(timeouts, 1);
    CO_ASSERT(slow->cancels.size() == 1u);
    EXPECT_EQ(slow->cancels[0].reason(), "attempt timeout");
    EXPECT_EQ(scheduler->dispatching(), 1u);  // backing off before attempt 2
    scheduler->cancel(t, "context canceled", canceled("context canceled"));
  });
}

TEST_F(SchedulerTest, CancelGraceHoldsTheSlotExactlyThatLong) {
  cancel_grace = 300ms;
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kSilent;
    p->answer_cancels = false;
    co_await registered(1, 1);
    auto t = task("x");
    scheduler->admit(t);
    co_await settle();
    CO_ASSERT(p->received.size() == 1u);
    scheduler->cancel(t, "context canceled", canceled("context canceled"));
    clock.advance(300ms - 1ns);
    co_await settle();
    EXPECT_EQ(p->session->active, 1u);
    clock.advance(1ns);
    co_await settle();
    EXPECT_EQ(p->session->active, 0u);
  });
}

TEST_F(SchedulerTest, ProviderSessionPingsEveryIntervalOnTheClock) {
  registry.timing.ping_interval = 5s;
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    co_await settle();  // registered without time passing: the interval starts now
    CO_ASSERT(registry.registered().size() == 1u);
    EXPECT_FALSE(p->session->ping_average_ms().has_value());
    clock.advance(5s - 1ns);
    co_await settle();
    EXPECT_EQ(p->pings, 0);
    clock.advance(1ns);
    co_await settle();
    EXPECT_EQ(p->pings, 1);
    // The round trip took no time on the clock.
    EXPECT_EQ(p->session->ping_average_ms(), std::optional<double>(0.0));
    clock.advance(5s);
    co_await settle();
    EXPECT_EQ(p->pings, 2);
  });
}

TEST_F(SchedulerTest, JoinWaitsAtMostTheGraceThenStopsTheRest) {
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kSilent;
    p->answer_cancels = false;  // the Task.Cancel send waits for its 10 s grace
    co_await registered(1, 1);
    auto t = task("x");
    scheduler->admit(t);
    co_await settle();
    scheduler->shutdown("broker shutting down");
    bool joined = false;
    asio::co_spawn(io, scheduler->join(2s), [&](std::exception_ptr) { joined = true; });
    clock.advance(2s - 1ns);
    co_await settle();
    EXPECT_FALSE(joined);
    clock.advance(1ns);
    co_await settle();
    EXPECT_TRUE(joined);
    EXPECT_EQ(p->cancels.size(), 1u);
  });
}

TEST_F(SchedulerTest, ImmediateRetryNeedsAFreeSlot) {
  run([&]() -> awaitable<void> {
    auto bad = provider("bad", 1, {"sha256:" + std::string(64, 'b')});
    auto busy = provider("busy", 1);
    bad->mode = FakeProvider::Mode::kEnvelopeError;
    busy->mode = FakeProvider::Mode::kHold;
    co_await registered(2, 2);
    // Occupy `busy`, then an immediate task fails on `bad`; when its back-off ends `bad` is the
    // only free candidate again (avoid list ignored) and fails again... until `bad` leaves.
    auto blocker = task("block");
    scheduler->admit(blocker);
    EXPECT_TRUE(co_await until([&] { return busy->running() == 1; }));
    auto now = task("now", false, true, {"sha256:" + std::string(64, 'b')});
    EXPECT_FALSE(scheduler->admit(now).has_value());
    EXPECT_TRUE(co_await until([&] { return bad->received.size() >= 1; }));
    bad->disconnect();
    co_await wait_done(now);
    CO_ASSERT(now->error().has_value());
    EXPECT_EQ(now->error()->code_name(), "unavailable");
    EXPECT_EQ(now->error()->message(), "qos: no idle workers for immediate mode");
    busy->release_all();
    co_await wait_done(blocker);
  });
}

TEST_F(SchedulerTest, ShutdownFailsEverything) {
  run([&]() -> awaitable<void> {
    auto p = provider("p", 1);
    p->mode = FakeProvider::Mode::kHold;
    co_await registered(1, 1);
    auto active = task("a");
    auto queued = task("q");
    scheduler->admit(active);
    scheduler->admit(queued);
    EXPECT_TRUE(co_await until([&] { return p->running() == 1; }));
    scheduler->shutdown("broker shutting down");
    for (auto& t : {active, queued}) {
      EXPECT_TRUE(t->done().is_set());
      EXPECT_EQ(t->error()->code_name(), "unavailable");
      EXPECT_EQ(t->error()->message(), "broker shutting down");
    }
    // The running task is cancelled on its provider with the shutdown reason.
    EXPECT_TRUE(co_await until([&] { return p->cancels.size() == 1; }));
    CO_ASSERT(p->cancels.size() == 1u);
    EXPECT_EQ(p->cancels[0].id(), active->id());
    EXPECT_EQ(p->cancels[0].reason(), "broker shutting down");
    auto late = scheduler->admit(task("late"));
    CO_ASSERT(late.has_value());
    EXPECT_EQ(late->code_name(), "unavailable");
    p->release_all();
  });
}

}  // namespace
}  // namespace wasimoff::broker
