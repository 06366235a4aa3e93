// Many light provider peers in one thread, for the fleet tests and the fleet sanity tool: each
// peer is a coroutine on one io_context that connects over WebSocket or WebTransport, announces
// ProviderResources, answers Filesystem.Listing (empty), Ping and Task.Wasip1.Request (echo, or
// never: `hold_tasks`), and counts what the Broker sends. A peer costs a few KiB, not a thread.
//
// Thread safety: the counters are atomics and the strings are behind a mutex, so a test thread
// may read them while the fleet runs.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace wasimoff::testing {

struct FleetOptions {
  std::string ws_url;    // ws://127.0.0.1:<port>/api/provider/ws (WebSocket peers)
  std::string wt_url;    // https://127.0.0.1:<port>/transport (WebTransport peers); "" = ws
  std::string certhash;  // for WebTransport
  std::string name_prefix = "fleet";
  std::uint32_t concurrency = 1;
  bool hold_tasks = false;  // never answer Task.Wasip1.Requests
  std::chrono::milliseconds connect_timeout = std::chrono::seconds(60);
};

struct PeerStats {
  std::atomic<bool> connected{false};
  std::atomic<bool> registered{false};  // got its first ClusterInfo
  std::atomic<bool> closed{false};
  std::atomic<int> cluster_infos{0};
  std::atomic<std::uint32_t> last_cluster_count{0};
  std::atomic<int> throughputs{0};
  std::atomic<int> pings{0};
  std::atomic<int> tasks{0};
  std::atomic<std::int64_t> connected_ms{-1};   // since the peer was started
  std::atomic<std::int64_t> registered_ms{-1};  // since the peer was started
  std::atomic<std::int64_t> closed_ms{-1};      // since the peer was started
  mutable std::mutex mutex;
  std::string close_reason;   // Messenger::close_reason(), e.g. "peer closed: 1011 …"
  std::string connect_error;  // set when the connection failed

  std::string reason() const {
    std::lock_guard lock(mutex);
    return !connect_error.empty() ? connect_error : close_reason;
  }
};

class Fleet {
 public:
  explicit Fleet(FleetOptions options);
  ~Fleet();  // closes every peer (1000) and joins the thread (bounded)
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  // Starts `n` more peers at once (without waiting); returns the index of the first.
  std::size_t add(std::size_t n);
  // Closes peer `i` normally (a provider leaving).
  void leave(std::size_t i);
  std::size_t size() const;
  const PeerStats& stats(std::size_t i) const;

  std::size_t count_registered() const;
  std::size_t count_closed() const;
  // Polls `condition` every 20 ms until it holds or `timeout` passes.
  static bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace wasimoff::testing
