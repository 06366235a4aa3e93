// The set of connected providers and the cluster-wide broadcasts (docs/protocol.md §8,
// docs/scheduling.md §8). A newcomer gets ClusterInfo at once; once a second every registered
// provider whose last ClusterInfo shows an outdated count gets the current one, and every provider
// gets Throughput. Both are "latest value" events (Messenger::send_latest_event): a slow reader
// holds at most one unsent event of each kind. Joining and leaving cost O(1) broadcasts, not O(N).
//
// New connections pass the AdmissionGate (bounded Listings in flight, FIFO) before their
// Listing.
//
// Runs on the loop; not thread-safe. The Scheduler reads the registered providers and is told
// about every change that may free a slot or change eligibility through `on_change`.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "broker/providers/admission_gate.h"
#include "broker/providers/provider_session.h"

namespace wasimoff::broker {

class ProviderRegistry {
 public:
  // `clock` times the broadcasts, close_all(), the admission gate and every session.
  explicit ProviderRegistry(asio::any_io_executor ex, Clock& clock = Clock::real());

  // Starts the Throughput broadcast timer.
  void start();

  // Accepts a new provider connection: creates and starts its session.
  std::shared_ptr<ProviderSession> connect(std::unique_ptr<protocol::Transport> transport,
                                           ProviderInfo info);

  // Called by sessions.
  void on_registered(const std::shared_ptr<ProviderSession>& session);
  void on_unregistered(ProviderSession& session);
  void on_session_ended(ProviderSession& session);
  // A registered provider announced another concurrency (keeps total_capacity() current).
  void on_capacity_changed(std::uint32_t before, std::uint32_t after);
  void notify_change() {
    if (on_change) on_change();
  }

  // Registered providers in registration order.
  const std::vector<std::shared_ptr<ProviderSession>>& registered() const { return registered_; }
  std::size_t connected_count() const { return all_.size(); }
  std::uint64_t total_capacity() const { return total_capacity_; }

  // Records a task completed without a Broker-level error (for Throughput).
  void record_completion(std::uint64_t provider_id);
  Clock& clock() const { return *clock_; }
  // Tasks/s over the last 5 s: overall, and for one provider.
  double throughput(std::optional<std::uint64_t> provider_id = std::nullopt) const;

  // Closes every connection (Broker shutdown) and waits up to `grace` for them to end.
  awaitable<void> close_all(std::string reason, std::chrono::milliseconds grace);

  std::function<void()> on_change;  // set by the Scheduler
  ProviderSession::Timing timing;   // for new sessions (tests shorten it)
  ProviderSession::Limits limits;   // for new sessions (configuration)
  AdmissionGate admission;          // WASIMOFF_ADMISSION_CONCURRENCY, …_ADMISSION_TIMEOUT

 private:
  awaitable<void> throughput_loop();
  // Sends ClusterInfo to every registered provider whose last one shows another count.
  void refresh_cluster_info();
  std::int64_t now_second() const;

  asio::any_io_executor ex_;
  Clock* clock_;
  std::vector<std::shared_ptr<ProviderSession>> registered_;
  std::unordered_map<std::uint64_t, std::weak_ptr<ProviderSession>> all_;  // by session id
  std::uint64_t total_capacity_ = 0;  // sum of capacity() over registered_
  // Completions in one-second buckets (bounded: 6 buckets × providers), for the 5 s window.
  struct Bucket {
    std::int64_t second = -1;
    std::uint64_t overall = 0;
    std::unordered_map<std::uint64_t, std::uint64_t> per_provider;
  };
  std::array<Bucket, 6> buckets_;
  OneShotEvent stopped_;
  OneShotEvent all_gone_;
};

}  // namespace wasimoff::broker
