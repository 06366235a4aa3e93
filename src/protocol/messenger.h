// Messenger: request/response/event RPC over one Transport (docs/protocol.md §3).
//
// One reader coroutine receives Envelopes in order: Events are handed to the event handler
// synchronously and in arrival order (capacity updates must not be reordered), Requests are
// handled concurrently (each in its own coroutine, so a long task never stalls Ping or Cancel),
// Responses complete the pending call with the same sequence number. One writer coroutine drains a
// bounded send queue. When the transport ends, every pending call fails with the configured
// disconnect error and the `closed()` event fires.
//
// Threading: everything runs on the transport's executor; not thread-safe.
#pragma once

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <variant>

#include "common/async.h"
#include "common/clock.h"
#include "common/status.h"
#include "protocol/any_payload.h"
#include "protocol/transport.h"

namespace wasimoff::protocol {

// Outcome of a call: a failed `status` = the call failed as a whole (the peer's Envelope error,
// kDeadlineExceeded for a timeout, kCanceled, or kUnavailable when the transport ended);
// otherwise `payload` holds the Response.
struct CallResult {
  Status status;
  google::protobuf::Any payload;
  // True when `status` is the peer's error Response; false when the call failed here (timeout,
  // cancel, transport loss). A peer may answer kDeadlineExceeded too (its task's deadline), which
  // is not this call's time limit.
  bool answered = false;
  bool ok() const { return status.ok(); }
  const std::string& error() const { return status.message(); }
};

// What a request handler answers: a payload message, or a failure (→ Envelope error + code).
struct Reply {
  std::unique_ptr<google::protobuf::Message> payload;
  Status status;

  template <typename M>
  static Reply with(M message) {
    return Reply{std::make_unique<M>(std::move(message)), {}};
  }
  static Reply fail(Status status) { return Reply{nullptr, std::move(status)}; }
  // A failure without a more specific code (kUnknown), as reference peers send them.
  static Reply fail(std::string error) {
    return fail(Status{StatusCode::kUnknown, std::move(error)});
  }
};

class Messenger : public std::enable_shared_from_this<Messenger> {
 public:
  struct Options {
    std::string name = "peer";  // for logs
    // Error text of calls that were outstanding when the transport ended.
    std::string disconnect_error = "peer disconnected";
    // The same when it ended because the peer sent a message above the limit (one of the
    // outstanding calls was probably answered by it). Empty = disconnect_error.
    std::string oversize_error;
    std::size_t max_queued_messages = 4096;       // send queue bound (count)
    std::uint64_t max_queued_bytes = 1ull << 30;  // send queue bound (payload bytes)
    // Times the calls' time limits (tests: a ManualClock). flush() and last_activity() use the
    // real steady clock.
    Clock* clock = &Clock::real();
  };

  using RequestHandler =
      std::function<awaitable<Reply>(std::unique_ptr<google::protobuf::Message> request)>;
  using EventHandler = std::function<void(const google::protobuf::Message& event)>;

  Messenger(asio::any_io_executor ex, std::unique_ptr<Transport> transport, Options options);
  ~Messenger();
  Messenger(const Messenger&) = delete;
  Messenger& operator=(const Messenger&) = delete;

  // Serve Requests whose payload is of `type` (other types are answered `not implemented`).
  void serve(const google::protobuf::Descriptor* type, RequestHandler handler);
  template <typename Req>
  void serve(std::function<awaitable<Reply>(Req&)> handler) {
    serve(
        Req::descriptor(),
        [h = std::move(handler)](std::unique_ptr<google::protobuf::Message> m) -> awaitable<Reply> {
          co_return co_await h(static_cast<Req&>(*m));
        });
  }
  // Events of known types go to `handler`; unknown or undecodable events are logged and dropped.
  void on_event(EventHandler handler) { event_handler_ = std::move(handler); }
  // Called once, synchronously, when the messenger closes (after closed() is set). Lets an owner
  // cancel its own timers without a coroutine waiting on closed() beside each of them.
  void on_closed(std::function<void()> hook) { closed_hook_ = std::move(hook); }

  // Starts the reader and writer coroutines. Call once, after registering handlers.
  void start();

  // Sends a Request and waits for its Response. `timeout` zero = no time limit; `cancel`, when
  // set, abandons the call (result error "canceled"); a late Response is then dropped.
  awaitable<CallResult> call(const google::protobuf::Message& request,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                             OneShotEvent* cancel = nullptr);
  // The same with a payload packed by the caller (pack_any). The payload moves into the send
  // queue, so a large request exists once while it waits to be written and not at all after.
  awaitable<CallResult> call_packed(
      google::protobuf::Any payload,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
      OneShotEvent* cancel = nullptr);

  // Like call(), and also checks the payload type: a payload of another type, an absent or an
  // undecodable one fails (kInternal) with `unexpected response payload <type>`.
  template <typename Resp>
  awaitable<Result<Resp>> call_as(const google::protobuf::Message& request,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(0),
                                  OneShotEvent* cancel = nullptr) {
    CallResult r = co_await call(request, timeout, cancel);
    if (!r.ok()) co_return std::move(r.status);
    Resp out;
    if (unpack_any(r.payload, &out) != UnpackStatus::kOk)
      co_return internal_error("unexpected response payload " + describe_payload(r.payload));
    co_return out;
  }

  // Queues an Event (fire and forget). Returns false when the messenger is closed.
  bool send_event(const google::protobuf::Message& event);
  // Queues a periodic Event whose newest value supersedes older ones (Throughput, ClusterInfo):
  // when an Event of the same type is still waiting in the send queue, its payload is replaced
  // in place (it keeps its position and sequence number) instead of queueing another. A peer that
  // reads slowly thus holds at most one unsent Event of each such type.
  bool send_latest_event(const google::protobuf::Message& event);

  // Closes the transport (idempotent); pending calls fail, closed() fires. Queued messages that
  // were not yet written are dropped; use flush() first for an orderly goodbye.
  void close(CloseCode code, std::string reason);
  // Waits until the send queue is empty (or `timeout` passes, or the messenger closes).
  awaitable<void> flush(std::chrono::milliseconds timeout);

  bool is_closed() const { return closed_; }
  OneShotEvent& closed() { return closed_event_; }
  // Set once the transport has delivered its end (after a close: the peer acknowledged it or the
  // connection dropped). Wait for it before tearing down the event loop so a goodbye completes.
  OneShotEvent& reader_finished() { return reader_finished_; }
  // Why the messenger ended, e.g. "closed by peer: 1000 bye!" ("" while open).
  const std::string& close_reason() const { return close_reason_; }
  Transport& transport() { return *transport_; }
  std::size_t pending_calls() const { return pending_.size(); }
  std::size_t queued_messages() const { return queue_.size(); }
  // When the peer was last seen alive: the latest received Envelope, or progress the transport
  // reports (bytes of a partly received message, bytes of ours the peer acknowledged or read;
  // Transport::last_activity). Starts at construction.
  std::chrono::steady_clock::time_point last_activity() const;

  static std::string describe_payload(const google::protobuf::Any& any);

 private:
  struct Pending;

  awaitable<void> read_loop();
  awaitable<void> write_loop();
  awaitable<void> handle_request(v1::Envelope envelope);
  void handle_response(v1::Envelope& envelope);
  void handle_event(v1::Envelope& envelope);
  bool enqueue(v1::Envelope envelope);
  void popped_front();
  void shutdown(std::string reason);

  std::unique_ptr<Transport> transport_;
  Options options_;
  asio::any_io_executor ex_;
  std::unordered_map<const google::protobuf::Descriptor*, RequestHandler> handlers_;
  EventHandler event_handler_;
  std::function<void()> closed_hook_;
  std::uint64_t next_request_seq_ = 1;
  std::uint64_t next_event_seq_ = 1;
  std::map<std::uint64_t, std::shared_ptr<Pending>> pending_;
  std::deque<v1::Envelope> queue_;
  std::uint64_t queued_bytes_ = 0;
  // Absolute positions in the queue: pushed_ counts every enqueued Envelope, popped_ every one
  // taken by the writer, so queue_[i - popped_] is the Envelope pushed as number i.
  std::uint64_t pushed_ = 0;
  std::uint64_t popped_ = 0;
  // Unsent "latest value" Events by payload type → their absolute position (send_latest_event).
  std::unordered_map<const google::protobuf::Descriptor*, std::uint64_t> latest_;
  std::chrono::steady_clock::time_point last_received_ = std::chrono::steady_clock::now();
  asio::steady_timer queue_signal_;    // wakes the writer when the queue gets an entry
  asio::steady_timer drained_signal_;  // wakes flush() waiters when the queue drains
  bool started_ = false;
  bool closed_ = false;
  std::string close_reason_;
  OneShotEvent closed_event_;
  OneShotEvent reader_finished_;
};

}  // namespace wasimoff::protocol
