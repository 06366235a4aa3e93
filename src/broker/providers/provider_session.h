// One connected provider, from transport open to teardown (docs/protocol.md §8). Identical for
// WebSocket and WebTransport: it only sees a protocol::Transport.
//
// Lifecycle: start() → a turn of the registry's AdmissionGate → Listing within 10 s (else close
// 1011) → registered with the registry → Ping every 5 s; nothing received for 12 s (no message,
// no progress of the transport) → close 1011 `ping timeout: …` → teardown on close.
// Events update capacity and the file set; the only Request served is Ping.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "broker/providers/provider_caps.h"
#include "common/async.h"
#include "common/clock.h"
#include "contract/contract.h"
#include "protocol/messenger.h"
#include "protocol/task_kind.h"

namespace wasimoff::broker {

using protocol::TaskKind;

class ProviderRegistry;

struct ProviderInfo {
  std::string name = "anonymous";
  std::string user_agent = "unknown";
  std::string address;    // for display (X-Real-IP / X-Forwarded-For honoured)
  std::string transport;  // "websocket" / "webtransport"
};

class ProviderSession : public std::enable_shared_from_this<ProviderSession> {
 public:
  struct Timing {
    std::chrono::milliseconds listing_timeout = std::chrono::seconds(10);
    std::chrono::milliseconds ping_interval = std::chrono::seconds(5);
    // A Ping's own time limit; only for the round-trip average (silence is judged below).
    std::chrono::milliseconds ping_timeout = std::chrono::seconds(10);
    // The hung-provider bound: a registered provider from which nothing arrived for this long
    // (no Envelope — any message counts, also an error Response to a Ping — and no progress of
    // a large message in either direction) is closed with 1011 `ping timeout`. Zero: never.
    std::chrono::milliseconds silence_timeout = std::chrono::seconds(12);
  };
  // What one provider may claim (security.md): a provider is not trusted with the size of its
  // own share of the cluster.
  struct Limits {
    // Announced concurrency above this is capped (WASIMOFF_MAX_PROVIDER_CONCURRENCY).
    std::uint32_t max_concurrency = 256;
    // WASIMOFF_MAX_MESSAGE_SIZE (the transports enforce it; named in error texts).
    std::uint64_t max_message_size = contract::limits::kMaxMessageSizeDefault;
    // File refs remembered per provider (Listing, FileSystemUpdate); further ones are ignored.
    std::size_t max_files = 65536;
    // Whether the Broker's storage holds a (canonical) ref. Refs it does not hold can never be
    // required by a task, so they are not remembered. Unset = every well-formed ref counts.
    std::function<bool(const std::string& ref)> known_file;
  };

  // `clock` schedules the Pings and the silence checks and times the round trips. (Silence
  // itself is measured from Messenger::last_activity(), which is real steady_clock time.)
  ProviderSession(asio::any_io_executor ex, std::unique_ptr<protocol::Transport> transport,
                  ProviderInfo info, ProviderRegistry& registry, Timing timing, Limits limits,
                  Clock& clock = Clock::real());
  ~ProviderSession();

  // Starts the session coroutine; the session keeps itself alive until it ends.
  void start();
  // Closes the connection (e.g. at Broker shutdown: kNormal, "broker shutting down").
  void close(protocol::CloseCode code, std::string reason);

  std::uint64_t id() const { return id_; }
  const ProviderInfo& info() const { return info_; }
  protocol::Messenger& messenger() { return *messenger_; }
  bool registered() const { return registered_; }
  bool closing() const { return messenger_->is_closed(); }

  // Scheduler bookkeeping (docs/scheduling.md §1). Only the Scheduler changes `active`.
  std::uint32_t capacity() const { return capacity_; }
  std::uint32_t announced_busy() const { return announced_busy_; }
  std::uint32_t active = 0;
  std::uint64_t last_assigned = 0;  // assignment counter value of the latest task (fairness)
  int timeout_strikes = 0;  // task attempts in a row that timed out (reset by any task result)
  std::uint32_t cluster_info_sent = 0;  // count in the last ClusterInfo it was sent (registry)
  bool has_free_slot() const { return active < capacity_; }
  bool supports(TaskKind kind) const { return !unsupported_.count(kind); }
  void mark_unsupported(TaskKind kind) { unsupported_.insert(kind); }
  bool has_files(const std::vector<std::string>& refs) const;
  std::size_t file_count() const { return files_.size(); }
  std::optional<double> ping_average_ms() const { return ping_avg_ms_; }
  // Announced capabilities and refused modules (docs/scheduling.md §3); die with the connection.
  ProviderCaps caps;

 private:
  awaitable<void> run();
  // Pings every ping_interval, closes the provider after silence_timeout without a sign of
  // life; returns when the messenger is closed.
  awaitable<void> keepalive();
  awaitable<void> ping_once();
  void on_event(const google::protobuf::Message& event);
  // Adds the refs a provider says it holds, keeping only canonical sha256 refs the Broker's
  // storage knows, up to Limits::max_files; logs what it ignored (`what` names the message).
  template <typename Refs>
  void add_files(const Refs& refs, std::string_view what);

  std::uint64_t id_;
  asio::any_io_executor ex_;
  Clock& clock_;
  std::shared_ptr<protocol::Messenger> messenger_;
  ProviderInfo info_;
  ProviderRegistry& registry_;
  Timing timing_;
  Limits limits_;
  bool registered_ = false;
  bool capped_logged_ = false;
  bool files_ignored_logged_ = false;
  std::uint32_t capacity_ = 0;
  std::uint32_t announced_busy_ = 0;
  std::unordered_set<std::string> files_;
  std::unordered_set<TaskKind> unsupported_;
  std::optional<double> ping_avg_ms_;
  Clock::Timer keepalive_timer_;  // keepalive()'s sleep; cancelled when the messenger closes
};

}  // namespace wasimoff::broker
