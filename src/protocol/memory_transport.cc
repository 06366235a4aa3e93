#include "protocol/memory_transport.h"

#include <boost/asio/experimental/channel.hpp>
#include <fmt/format.h>

#include "protocol/codec.h"

namespace wasimoff::protocol {

namespace {

using Channel = asio::experimental::channel<void(boost::system::error_code, std::string)>;

struct Shared {
  Shared(asio::any_io_executor ex, std::size_t cap) : a_to_b(ex, cap), b_to_a(ex, cap) {}
  Channel a_to_b;
  Channel b_to_a;
  bool closed = false;
  std::string reason;
};

class MemoryTransport final : public Transport {
 public:
  MemoryTransport(std::shared_ptr<Shared> shared, bool side_a) : shared_(std::move(shared)), a_(side_a) {}
  ~MemoryTransport() override { close(CloseCode::kNormal, "bye!"); }

  awaitable<void> send(const v1::Envelope& envelope) override {
    if (shared_->closed) throw boost::system::system_error(asio::error::not_connected, "transport closed");
    co_await out().async_send(boost::system::error_code{}, encode(envelope, Codec::kBinary),
                              asio::use_awaitable);
  }

  awaitable<std::optional<v1::Envelope>> receive() override {
    boost::system::error_code ec;
    std::string bytes = co_await in().async_receive(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;
    v1::Envelope env;
    if (!decode(bytes, Codec::kBinary, &env).empty()) {
      close(CloseCode::kProtocolError, "undecodable envelope");
      co_return std::nullopt;
    }
    co_return env;
  }

  void close(CloseCode code, std::string reason) override {
    if (shared_->closed) return;
    shared_->closed = true;
    shared_->reason = fmt::format("{} {}", static_cast<int>(code), reason);
    shared_->a_to_b.close();
    shared_->b_to_a.close();
  }

  std::string remote_address() const override { return a_ ? "memory:b" : "memory:a"; }
  std::string_view kind() const override { return "memory"; }
  std::string end_reason() const override {
    return shared_->closed ? "closed: " + shared_->reason : "";
  }

 private:
  Channel& out() { return a_ ? shared_->a_to_b : shared_->b_to_a; }
  Channel& in() { return a_ ? shared_->b_to_a : shared_->a_to_b; }
  std::shared_ptr<Shared> shared_;
  bool a_;
};

}  // namespace

std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_memory_transport_pair(
    asio::any_io_executor ex, std::size_t capacity) {
  auto shared = std::make_shared<Shared>(ex, capacity);
  return {std::make_unique<MemoryTransport>(shared, true), std::make_unique<MemoryTransport>(shared, false)};
}

}  // namespace wasimoff::protocol
