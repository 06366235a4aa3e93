// Issue 11: many providers on one Broker. Cluster events are O(1) per provider and join
// (docs/protocol.md §8 step 3), admission is FIFO with bounded Listings in flight, and a hung
// provider (SIGSTOPped process) is closed within 15 s on both transports, its task retried
// elsewhere. The peers are light coroutines (fleet_peers.h), the hung one a separate process.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <thread>

#include "broker_tasks_fixture.h"
#include "fleet_peers.h"
#include "process.h"

namespace wasimoff::testing {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

class Fleets : public BrokerTasks {
 public:
  FleetOptions ws_fleet(std::string prefix) const {
    FleetOptions o;
    o.ws_url = provider_url();
    o.name_prefix = std::move(prefix);
    return o;
  }
  std::string certhash() {
    auto doc = parse(http_get(broker().url("/api/broker/v1/config")).body);
    return std::string(doc.at("certhash").as_string());
  }
  // Every peer in [from, to) that is still connected has seen `count` as its latest ClusterInfo.
  static bool all_see(const Fleet& f, std::size_t from, std::size_t to, std::uint32_t count) {
    for (std::size_t i = from; i < to; ++i)
      if (!f.stats(i).closed && f.stats(i).last_cluster_count != count) return false;
    return true;
  }
  static int most_cluster_infos(const Fleet& f, std::size_t from, std::size_t to) {
    int most = 0;
    for (std::size_t i = from; i < to; ++i) most = std::max(most, f.stats(i).cluster_infos.load());
    return most;
  }
};

// (a) 200 providers join at once, one more joins later, then half of them leave. Each provider
// gets one ClusterInfo at registration and at most one per second after that (not one per join:
// before issue 11 the first of 200 got 200), and the final count reaches everyone within ~1 s.
TEST_F(Fleets, JoinsAndLeavesCostEachProviderAFewClusterInfos) {
  start_broker({{"WASIMOFF_MAX_CONNECTIONS_PER_IP", "0"}});
  constexpr std::size_t kN = 200;
  Fleet fleet(ws_fleet("joiner"));
  auto t0 = Clock::now();
  fleet.add(kN);
  ASSERT_TRUE(Fleet::wait_until([&] { return fleet.count_registered() == kN; }, 90s))
      << fleet.count_registered() << " of " << kN << " registered";
  const double join_s = seconds_since(t0);
  ASSERT_TRUE(Fleet::wait_until([&] { return all_see(fleet, 0, kN, kN); }, 10s));
  const double settle_s = seconds_since(t0) - join_s;
  // One at registration, then at most one per (started) second of the joins and the settling.
  const int bound = 2 + static_cast<int>(join_s + settle_s);
  EXPECT_LE(most_cluster_infos(fleet, 0, kN), bound)
      << "joins took " << join_s << " s, settling " << settle_s << " s";
  EXPECT_LE(settle_s, 2.5) << "the final count took " << settle_s << " s to reach everyone";
  std::cout << "[ fleet    ] " << kN << " joins in " << join_s << " s, final count everywhere "
            << settle_s << " s later, at most " << most_cluster_infos(fleet, 0, kN)
            << " ClusterInfo per provider\n";

  // A newcomer gets ClusterInfo{N+1} as soon as it is registered, not a second later.
  auto late = fleet.add(1);
  ASSERT_TRUE(Fleet::wait_until([&] { return fleet.stats(late).registered.load(); }, 20s));
  EXPECT_EQ(fleet.stats(late).last_cluster_count, kN + 1);
  EXPECT_EQ(fleet.stats(late).cluster_infos, 1);

  // Half of them leave; the rest learn the new count, again with a few messages each.
  std::vector<int> before(kN + 1);
  for (std::size_t i = 0; i <= kN; ++i) before[i] = fleet.stats(i).cluster_infos;
  auto t1 = Clock::now();
  for (std::size_t i = 0; i < kN / 2; ++i) fleet.leave(i);
  ASSERT_TRUE(Fleet::wait_until([&] { return fleet.count_closed() == kN / 2; }, 20s));
  ASSERT_TRUE(Fleet::wait_until([&] { return all_see(fleet, kN / 2, kN + 1, kN / 2 + 1); }, 10s));
  const double leave_s = seconds_since(t1);
  EXPECT_LE(leave_s, 5.0);
  int most = 0;
  for (std::size_t i = kN / 2; i <= kN; ++i)
    most = std::max(most, fleet.stats(i).cluster_infos - before[i]);
  EXPECT_LE(most, 2 + static_cast<int>(leave_s)) << kN / 2 << " leaves in " << leave_s << " s";
  EXPECT_EQ(debug_state().at("providers").as_array().size(), kN / 2 + 1);
}

// (c) A thundering herd: 1000 providers connect at once while at most 8 Listings may be in
// flight. All are admitted in turn, none runs into a Listing timeout.
TEST_F(Fleets, ThunderingHerdIsAdmittedInTurn) {
  start_broker({{"WASIMOFF_MAX_CONNECTIONS_PER_IP", "0"}, {"WASIMOFF_ADMISSION_CONCURRENCY", "8"}});
  constexpr std::size_t kN = 1000;
  Fleet fleet(ws_fleet("herd"));
  auto t0 = Clock::now();
  fleet.add(kN);
  ASSERT_TRUE(Fleet::wait_until(
      [&] { return fleet.count_registered() + fleet.count_closed() >= kN; }, 150s));
  const double s = seconds_since(t0);
  EXPECT_EQ(fleet.count_registered(), kN);
  for (std::size_t i = 0; i < kN; ++i)
    if (fleet.stats(i).closed) ADD_FAILURE() << "herd-" << i << ": " << fleet.stats(i).reason();
  std::cout << "[ fleet    ] " << kN << " providers admitted in " << s << " s\n";
  EXPECT_EQ(broker().process().stderr_text().find("not admitted"), std::string::npos);
  ASSERT_TRUE(Fleet::wait_until([&] { return all_see(fleet, 0, kN, kN); }, 10s));
}

// Waiting for admission is bounded: with one slot held by a provider that never answers its
// Listing, the next connection is closed after WASIMOFF_ADMISSION_TIMEOUT with a clear reason.
TEST_F(Fleets, AdmissionWaitIsBounded) {
  start_broker({{"WASIMOFF_ADMISSION_CONCURRENCY", "1"}, {"WASIMOFF_ADMISSION_TIMEOUT", "1s"}});
  auto mute_options = provider_options("mute");
  mute_options.answer_listing = false;
  TestProvider mute(mute_options);
  ASSERT_TRUE(mute.wait_for([&] { return mute.listing_requests() == 1; }));
  TestProvider waiting(provider_options("waiting"));
  ASSERT_TRUE(waiting.wait_disconnected(15s));
  ASSERT_TRUE(waiting.close_frame().has_value());
  EXPECT_EQ(waiting.close_frame()->code, 1011);
  EXPECT_EQ(waiting.close_frame()->reason.rfind("admission timeout", 0), 0u)
      << waiting.close_frame()->reason;
  EXPECT_EQ(waiting.listing_requests(), 0u);
  // The Listing of the mute provider still ends with its own 10 s limit; then the next one
  // gets its turn at once.
  ASSERT_TRUE(mute.wait_disconnected(20s));
  EXPECT_EQ(mute.close_frame()->reason, "listing timeout");
  auto fine = connect_provider("fine");
  EXPECT_EQ(stdout_of(run_ok({"admitted"})), "admitted\n");
}

// (b) A provider process that stops (SIGSTOP: no reads, no answers, its kernel still holds the
// connection open) while it runs a task is closed within 15 s, and the task succeeds on another
// provider. `transport` is "ws" or "wt".
void hung_provider_is_closed_and_its_task_retried(Fleets& t, const std::string& transport) {
  t.start_broker();
  std::vector<std::string> argv = {fleet_binary(), "--count", "1",         "--name",
                                   "hung",         "--hold",  "--seconds", "120"};
  if (transport == "ws") {
    argv.insert(argv.end(), {"--ws", t.provider_url()});
  } else {
    argv.insert(
        argv.end(),
        {"--wt", "https://127.0.0.1:" + std::to_string(t.broker().quic_port()) + "/transport",
         "--certhash", t.certhash()});
  }
  ChildProcess hung(ChildProcess::Options{argv, {}, true, "", ""});
  ASSERT_TRUE(t.wait_until([&] { return !t.debug_provider("hung-0").is_null(); }, 30s))
      << hung.stdout_text() << hung.stderr_text();
  EXPECT_EQ(std::string(t.debug_provider("hung-0").at("transport").as_string()),
            transport == "ws" ? "websocket" : "webtransport");
  auto result = t.rpc_async("RunWasip1", t.task_json({"survived"}));
  ASSERT_TRUE(t.wait_until(
      [&] { return hung.stdout_text().find("task hung-0") != std::string::npos; }, 30s))
      << hung.stdout_text();
  hung.signal(SIGSTOP);
  auto stopped = Clock::now();
  Fleet healthy(t.ws_fleet("healthy"));
  healthy.add(1);
  ASSERT_TRUE(Fleet::wait_until([&] { return healthy.count_registered() == 1; }, 20s));
  // Generous wait; the bound itself is 12 s of silence.
  ASSERT_TRUE(t.wait_until([&] { return t.debug_provider("hung-0").is_null(); }, 25s))
      << "the stopped provider was not closed";
  const double closed_after = seconds_since(stopped);
  std::cout << "[ fleet    ] stopped " << transport << " provider closed after " << closed_after
            << " s\n";
  EXPECT_LE(closed_after, 15.0);
  ASSERT_EQ(result.wait_for(30s), std::future_status::ready);
  auto r = result.get();
  ASSERT_EQ(r.status, 200u) << r.body;
  auto body = BrokerTasks::parse(r.body);
  EXPECT_EQ(BrokerTasks::stdout_of(body), "survived\n");
  EXPECT_EQ(BrokerTasks::provider_of(body), "healthy-0");
  if (transport == "ws") {
    // The Broker says why (docs/protocol.md §8 step 5).
    EXPECT_NE(t.broker().process().stderr_text().find("ping timeout: nothing received for 12s"),
              std::string::npos);
  }
  hung.signal(SIGKILL);
  hung.signal(SIGCONT);
}

TEST_F(Fleets, HungWebSocketProviderIsClosedAndItsTaskRetried) {
  hung_provider_is_closed_and_its_task_retried(*this, "ws");
}

TEST_F(Fleets, HungWebTransportProviderIsClosedAndItsTaskRetried) {
  hung_provider_is_closed_and_its_task_retried(*this, "wt");
}

}  // namespace
}  // namespace wasimoff::testing
