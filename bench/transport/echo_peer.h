// EchoPeer: a minimal provider for the transport benchmark. It connects to the Broker over
// WebSocket or WebTransport exactly like the native provider does (discovery via
// /api/broker/v1/config and certhash for WebTransport), announces `concurrency` slots, answers
// Listing (no files), Ping and Task.Cancel, and answers every Task.Wasip1.Request at once with
// stdout = the task's stdin. Nothing is executed, so a task's round trip is the Broker plus the
// provider transport, and a large stdin measures bulk transfer in both directions.
//
// It also sends Ping Requests to the Broker (docs/protocol.md §8 step 6: the Broker answers them
// immediately) to time the bare transport round trip.
//
// Runs on its own thread with its own io_context, so the client side of a measurement (on the
// caller's thread) never shares a loop with it. All public functions are blocking and bounded.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/async.h"
#include "protocol/messenger.h"

namespace wasimoff::bench {

// The pieces of a fake provider that EchoPeer and the provider fleet (bench/fleet) share.

// What a provider needs to know before it connects: the Broker's HTTP URL and, for WebTransport,
// the session URL and certificate hash from GET /api/broker/v1/config.
struct BrokerEndpoints {
  std::string http;          // http://127.0.0.1:<port>
  std::string webtransport;  // https://…/…  ("" = the Broker offers none)
  std::string certhash;      // hex SHA-256 of the Broker's certificate ("" = none announced)
};
// Fetches the config when `transport` is "webtransport"; otherwise only fills `http`.
awaitable<BrokerEndpoints> discover_broker(std::string broker_url, std::string transport);

// Opens the provider message channel like the native provider does (?id=<name>). Throws
// std::runtime_error with the transport's reason (10 s handshake limits of both transports).
awaitable<std::unique_ptr<protocol::Transport>> connect_provider(BrokerEndpoints endpoints,
                                                                 std::string transport,
                                                                 std::string name,
                                                                 std::string user_agent);

// The requests an echo provider answers (for counting).
enum class EchoRequest { kListing, kPing, kCancel, kTask };
// Serves Listing (no files), Ping, Task.Cancel and Task.Wasip1.Request (answered at once with
// stdout = stdin). `seen`, when set, is called for every request before it is answered.
void serve_echo(protocol::Messenger& messenger, std::function<void(EchoRequest)> seen = {});

class EchoPeer {
 public:
  // Connects and announces itself; throws std::runtime_error (with the transport's reason) when
  // that does not succeed within 15 s. `transport` is "websocket" or "webtransport".
  EchoPeer(std::string broker_url, std::string transport, std::string name,
           std::uint32_t concurrency);
  // Closes normally (flushing what is queued, at most 2 s) and joins the thread.
  ~EchoPeer();
  EchoPeer(const EchoPeer&) = delete;
  EchoPeer& operator=(const EchoPeer&) = delete;

  // The transport's own name for itself ("websocket" / "webtransport").
  const std::string& kind() const { return kind_; }
  // Sends `count` Pings one after another; returns each round trip in ms. Throws on a failed
  // Ping (10 s limit each).
  std::vector<double> ping_round_trips(int count);
  std::size_t tasks_answered() const { return answered_; }

 private:
  awaitable<void> connect();
  awaitable<std::vector<double>> pings(int count);
  awaitable<void> close();

  std::string broker_, transport_, name_;
  std::uint32_t concurrency_;
  std::string kind_;
  std::atomic<std::size_t> answered_{0};
  asio::io_context io_{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::shared_ptr<protocol::Messenger> messenger_;  // used on the peer's thread only
  std::thread thread_;
};

}  // namespace wasimoff::bench
