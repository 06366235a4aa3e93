#include "protocol/messenger.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/experimental/awaitable_operators.hpp>

#include "contract/contract.h"
#include "protocol/wire_status.h"

namespace wasimoff::protocol {

using namespace asio::experimental::awaitable_operators;
namespace gp = google::protobuf;
using v1::Envelope;

// One outstanding call. Its timer is both the timeout and the wake-up: it expires at the
// call's time limit (never, without one) and complete() cancels it. A call used to wait on an
// event, a sleep and the cancel token at once (`a || b || c`, three coroutines and a parallel
// group per call); this is one timer wait, which matters on the per-task path.
struct Messenger::Pending {
  Pending(asio::any_io_executor ex, Clock& clock) : timer(std::move(ex), clock) {}

  void complete() {
    done = true;
    timer.cancel();
  }
  // Returns when complete() ran, the timer expired, or the waiting operation was cancelled from
  // outside (e.g. by the other side of an `||`).
  awaitable<void> wait() {
    while (!done) {
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (!ec) co_return;  // the time limit
      if (!done) {
        auto state = co_await asio::this_coro::cancellation_state;
        if (state.cancelled() != asio::cancellation_type::none) co_return;
      }
    }
  }

  Clock::Timer timer;
  bool done = false;
  CallResult result;
};

Messenger::Messenger(asio::any_io_executor ex, std::unique_ptr<Transport> transport,
                     Options options)
    : transport_(std::move(transport)),
      options_(std::move(options)),
      ex_(ex),
      queue_signal_(ex, std::chrono::steady_clock::time_point::max()),
      drained_signal_(ex, std::chrono::steady_clock::time_point::max()),
      closed_event_(ex),
      reader_finished_(ex) {}

Messenger::~Messenger() {
  if (!closed_) transport_->close(CloseCode::kNormal, std::string(contract::disconnect::kReason));
}

void Messenger::serve(const gp::Descriptor* type, RequestHandler handler) {
  handlers_[type] = std::move(handler);
}

void Messenger::start() {
  if (started_) return;
  started_ = true;
  auto self = shared_from_this();
  spawn_logged(ex_, hold(self, read_loop()), "messenger reader");
  spawn_logged(ex_, hold(self, write_loop()), "messenger writer");
}

std::string Messenger::describe_payload(const gp::Any& any) {
  if (any.type_url().empty()) return "(none)";
  return std::string(any_type_name(any));
}

awaitable<CallResult> Messenger::call(const gp::Message& request, std::chrono::milliseconds timeout,
                                      OneShotEvent* cancel) {
  if (closed_) co_return CallResult{unavailable(options_.disconnect_error), {}};
  co_return co_await call_packed(make_any(request), timeout, cancel);
}

awaitable<CallResult> Messenger::call_packed(gp::Any payload, std::chrono::milliseconds timeout,
                                             OneShotEvent* cancel) {
  if (closed_) co_return CallResult{unavailable(options_.disconnect_error), {}};
  std::uint64_t seq = next_request_seq_++;
  Envelope env;
  env.set_sequence(seq);
  env.set_type(Envelope::Request);
  *env.mutable_payload() = std::move(payload);
  auto pending = std::make_shared<Pending>(ex_, *options_.clock);
  pending_[seq] = pending;
  if (!enqueue(std::move(env))) {
    pending_.erase(seq);
    co_return CallResult{unavailable(options_.disconnect_error), {}};
  }
  // Keep ourselves alive while waiting: the owner may drop its reference meanwhile.
  auto self = shared_from_this();
  if (timeout.count() > 0) pending->timer.expires_after(timeout);
  if (cancel && !cancel->is_set())
    co_await (pending->wait() || cancel->wait());
  else if (!cancel)
    co_await pending->wait();
  if (pending->done) co_return std::move(pending->result);
  pending_.erase(seq);
  if (cancel && cancel->is_set()) co_return CallResult{canceled("canceled"), {}};
  co_return CallResult{deadline_exceeded(fmt::format("timeout: no response within {:g} s",
                                                     timeout.count() / 1000.0)),
                       {}};
}

bool Messenger::send_event(const gp::Message& event) {
  if (closed_) return false;
  Envelope env;
  env.set_sequence(next_event_seq_++);
  env.set_type(Envelope::Event);
  pack_any(event, env.mutable_payload());
  return enqueue(std::move(env));
}

bool Messenger::send_latest_event(const gp::Message& event) {
  if (closed_) return false;
  auto it = latest_.find(event.GetDescriptor());
  if (it != latest_.end() && it->second >= popped_ && it->second - popped_ < queue_.size()) {
    Envelope& queued = queue_[static_cast<std::size_t>(it->second - popped_)];
    queued_bytes_ -= queued.payload().value().size();
    pack_any(event, queued.mutable_payload());
    queued_bytes_ += queued.payload().value().size();
    return true;
  }
  if (!send_event(event)) return false;
  latest_[event.GetDescriptor()] = pushed_ - 1;
  return true;
}

std::chrono::steady_clock::time_point Messenger::last_activity() const {
  return std::max(last_received_, transport_->last_activity());
}

void Messenger::popped_front() {
  queue_.pop_front();
  for (auto it = latest_.begin(); it != latest_.end();) {
    if (it->second <= popped_)
      it = latest_.erase(it);
    else
      ++it;
  }
  ++popped_;
}

bool Messenger::enqueue(Envelope envelope) {
  if (closed_) return false;
  std::uint64_t bytes = envelope.payload().value().size();
  if (queue_.size() >= options_.max_queued_messages ||
      queued_bytes_ + bytes > options_.max_queued_bytes) {
    spdlog::warn("{}: send queue full ({} messages, {} bytes): peer is not reading, closing",
                 options_.name, queue_.size(), queued_bytes_);
    close(CloseCode::kInternalError, "send queue overflow");
    return false;
  }
  queued_bytes_ += bytes;
  queue_.push_back(std::move(envelope));
  ++pushed_;
  queue_signal_.cancel();
  return true;
}

awaitable<void> Messenger::write_loop() {
  while (!closed_) {
    if (queue_.empty()) {
      drained_signal_.cancel();
      boost::system::error_code ec;
      co_await queue_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    Envelope env = std::move(queue_.front());
    popped_front();
    queued_bytes_ -= env.payload().value().size();
    try {
      co_await transport_->send(env);
    } catch (const std::exception& e) {
      shutdown(std::string("send failed: ") + e.what());
    }
  }
  drained_signal_.cancel();
}

awaitable<void> Messenger::flush(std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && !queue_.empty() && std::chrono::steady_clock::now() < end) {
    drained_signal_.expires_at(end);
    boost::system::error_code ec;
    co_await drained_signal_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  // The writer may still be sending the last message; give it one turn of the loop.
  co_await asio::post(ex_, asio::use_awaitable);
}

awaitable<void> Messenger::read_loop() {
  for (;;) {
    auto env = co_await transport_->receive();
    if (!env) break;
    last_received_ = std::chrono::steady_clock::now();
    if (closed_) continue;  // draining after close(): nothing is dispatched any more
    switch (env->type()) {
      case Envelope::Request: {
        spawn_logged(ex_, hold(shared_from_this(), handle_request(std::move(*env))),
                     "request handler");
        break;
      }
      case Envelope::Response:
        handle_response(*env);
        break;
      case Envelope::Event:
        handle_event(*env);
        break;
      default:
        spdlog::debug("{}: ignoring envelope without a known type ({})", options_.name,
                      static_cast<int>(env->type()));
    }
  }
  std::string why = transport_->end_reason();
  shutdown(why.empty() ? "transport closed" : why);
  reader_finished_.set();
}

awaitable<void> Messenger::handle_request(Envelope envelope) {
  Reply reply;
  if (!envelope.has_payload() || envelope.payload().type_url().empty()) {
    reply = Reply::fail(invalid_argument(std::string(contract::errors::kMissingPayload)));
  } else {
    bool bad = false;
    auto msg = unpack_any_dynamic(envelope.payload(), &bad);
    auto it = msg ? handlers_.find(msg->GetDescriptor()) : handlers_.end();
    if (bad) {
      // A JSON codec puts the reason into `error`, which has no meaning on a Request otherwise.
      reply = Reply::fail(invalid_argument(
          std::string(contract::errors::kBadPayloadPrefix) +
          (envelope.error().empty() ? "cannot decode " + describe_payload(envelope.payload())
                                    : envelope.error())));
    } else if (!msg || it == handlers_.end()) {
      reply = Reply::fail(unimplemented(std::string(contract::errors::kNotImplemented)));
    } else {
      try {
        reply = co_await it->second(std::move(msg));
      } catch (const std::exception& e) {
        reply = Reply::fail(e.what());
      }
    }
  }
  if (closed_) co_return;
  Envelope out;
  out.set_sequence(envelope.sequence());
  out.set_type(Envelope::Response);
  if (!reply.status.ok()) {
    out.set_error(reply.status.message());
    out.set_code(std::string(reply.status.code_name()));
  } else if (reply.payload) {
    pack_any(*reply.payload, out.mutable_payload());
  }
  enqueue(std::move(out));
}

void Messenger::handle_response(Envelope& envelope) {
  auto it = pending_.find(envelope.sequence());
  if (it == pending_.end()) {
    spdlog::debug("{}: dropping response for unknown sequence {}", options_.name,
                  envelope.sequence());
    return;
  }
  auto pending = std::move(it->second);
  pending_.erase(it);
  pending->result.answered = true;
  if (!envelope.error().empty())
    pending->result.status =
        status_from_wire(envelope.code(), std::move(*envelope.mutable_error()));
  else
    pending->result.payload = std::move(*envelope.mutable_payload());
  pending->complete();
}

void Messenger::handle_event(Envelope& envelope) {
  if (!envelope.has_payload()) {
    spdlog::debug("{}: ignoring event without payload", options_.name);
    return;
  }
  bool bad = false;
  auto msg = unpack_any_dynamic(envelope.payload(), &bad);
  if (!msg) {
    spdlog::debug("{}: ignoring {} event {}{}{}", options_.name, bad ? "undecodable" : "unknown",
                  describe_payload(envelope.payload()), envelope.error().empty() ? "" : ": ",
                  envelope.error());
    return;
  }
  if (event_handler_) event_handler_(*msg);
}

void Messenger::close(CloseCode code, std::string reason) {
  if (closed_) return;
  transport_->close(code, reason);
  shutdown("closed: " + reason);
}

void Messenger::shutdown(std::string reason) {
  if (closed_) return;
  closed_ = true;
  close_reason_ = std::move(reason);
  auto pending = std::move(pending_);
  pending_.clear();
  const bool oversized =
      !options_.oversize_error.empty() && transport_->ended_by_oversized_message();
  for (auto& [seq, p] : pending) {
    p->result.status = oversized ? resource_exhausted(options_.oversize_error)
                                 : unavailable(options_.disconnect_error);
    p->complete();
  }
  popped_ += queue_.size();
  queue_.clear();
  latest_.clear();
  queued_bytes_ = 0;
  queue_signal_.cancel();
  drained_signal_.cancel();
  transport_->close(CloseCode::kNormal, std::string(contract::disconnect::kReason));
  closed_event_.set();
  if (auto hook = std::move(closed_hook_)) hook();
}

}  // namespace wasimoff::protocol
