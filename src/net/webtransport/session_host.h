// Server-side WebTransport for one HTTP/3 connection (an h3::Extension): answers the extended
// CONNECT (path → 404, SETTINGS check, authorize → 401/403, one session per connection), reads
// capsules on the CONNECT stream, accepts exactly one provider-opened bidi stream as the
// message stream (further streams are refused with WebTransport code 0, datagrams dropped), and
// closes the QUIC connection within a second after the session ends (Chromium closes silently).
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "contract/contract.h"
#include "net/h3/server_connection.h"
#include "net/webtransport/capsule.h"
#include "net/webtransport/connect_verdict.h"
#include "net/webtransport/message_channel.h"

namespace wasimoff::webtransport {

struct SessionPolicy {
  std::string session_path;
  std::uint64_t max_message_size = contract::limits::kMaxMessageSizeDefault;
  std::function<ConnectVerdict(const http::Request& connect)> authorize;
  std::function<void(std::unique_ptr<protocol::Transport>, const http::Request& connect)>
      on_session;
};

class SessionHost : public h3::Extension,
                    public MessageStreamHost,
                    public std::enable_shared_from_this<SessionHost> {
 public:
  SessionHost(std::weak_ptr<h3::ServerConnection> h3, std::shared_ptr<const SessionPolicy> policy);

  // h3::Extension
  void on_connect(std::int64_t stream_id, h3::RequestHead head) override;
  void on_connect_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                       bool fin) override;
  void on_session_stream(std::int64_t stream_id, bool bidi, std::uint64_t session_id) override;
  void on_stream_data(std::int64_t stream_id, std::span<const std::uint8_t> data,
                      bool fin) override;
  void on_stream_reset(std::int64_t stream_id, std::uint64_t h3_code) override;
  void on_stop_sending(std::int64_t stream_id, std::uint64_t h3_code) override;
  void on_stream_closed(std::int64_t stream_id) override;
  void on_send_progress(std::int64_t stream_id) override;
  void on_datagram(std::span<const std::uint8_t> data) override;
  void on_shutdown() override;
  void on_closed(std::string_view reason) override;
  // Live, or ended but still waiting for its CLOSE capsule / FINs to be acknowledged.
  bool busy() const override { return session_ && (!session_->ended || closing_); }

  // MessageStreamHost
  void write_message_bytes(std::string bytes) override;
  std::size_t message_bytes_buffered() const override;
  void credit_message_bytes(std::size_t n) override;
  void close_session(std::uint32_t code, std::string reason) override;

 private:
  struct Session {
    // User-provided, not implicit: std::optional<Session> below asks whether Session is default
    // constructible while SessionHost is still incomplete, and clang answers "no" there (the
    // default member initializers are not parsed yet), which breaks session_.emplace().
    Session() {}
    std::int64_t connect_stream = -1;
    http::Request connect;
    CapsuleReader capsules{64 << 10};
    std::optional<std::int64_t> message_stream;
    std::shared_ptr<MessageChannel> channel;
    bool ended = false;
    bool connect_fin_sent = false;
  };

  // Answers the CONNECT with `status` (and `message` as a text/plain body) and ends the stream.
  void reject(std::int64_t stream_id, unsigned status, const std::string& message = {});
  void refuse_stream(std::int64_t stream_id, bool bidi);
  // Ends the session once: optional CLOSE capsule, FINs, channel notified, connection closed
  // after the FINs were acknowledged or one second passed.
  void end_session(std::string reason, std::optional<std::pair<std::uint32_t, std::string>> close);
  awaitable<void> close_connection_soon(std::shared_ptr<h3::ServerConnection> h3);

  std::weak_ptr<h3::ServerConnection> h3_;
  std::shared_ptr<const SessionPolicy> policy_;
  std::optional<Session> session_;
  std::uint64_t dropped_datagrams_ = 0;
  bool closing_ = false;
};

}  // namespace wasimoff::webtransport
