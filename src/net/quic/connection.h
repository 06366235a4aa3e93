// One QUIC connection on ngtcp2 0.12 (server or client side), driven by the owner's event loop.
//
// All ngtcp2 calls of the project live in connection.cc (setup, reading, closing),
// connection_streams.cc (stream queues and stream callbacks), connection_writer.cc (write pass
// and timers), endpoint.cc and client.cc, so a port to ngtcp2 1.x stays local. Contracts:
//  * Stream data handed to send() is owned here until the peer acknowledges it (the 0.x API
//    does not copy stream data). Each stream has a queue of address-stable chunks.
//  * Received stream data is delivered to the Application and only credited back to the peer
//    (MAX_STREAM_DATA / MAX_DATA) when the application calls consume(): back-pressure.
//  * Writing is batched: send()/consume()/close() schedule one write pass on the loop. A pass
//    sends at most the congestion controller's send quantum and then arms the pacing timer.
//  * The owner (Endpoint or Client) routes datagrams to on_datagram() and learns about CIDs and
//    the end of the connection through ConnectionOwner.
#pragma once

#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "common/async.h"
#include "net/quic/application.h"
#include "net/quic/tls_session.h"
#include "net/quic/udp_socket.h"

namespace wasimoff::quic {

// Transport settings of a connection (the same for both sides unless noted).
struct ConnectionSettings {
  std::chrono::milliseconds idle_timeout{10000};
  std::chrono::milliseconds keep_alive{4000};
  std::chrono::milliseconds handshake_timeout{10000};
  std::uint64_t stream_window = 1 << 20;      // initial_max_stream_data_*; re-extended on consume
  std::uint64_t connection_window = 8 << 20;  // initial_max_data
  std::uint64_t max_streams_bidi = 100;       // concurrent peer-opened bidi streams
  std::uint64_t max_streams_uni = 100;        // concurrent peer-opened uni streams
  std::uint64_t max_datagram_frame_size = 65535;
};

class Connection;

class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  enum class SendResult { kSent, kWouldBlock, kFailed };
  virtual SendResult send_packet(const Address& local, const Address& remote,
                                 std::span<const std::uint8_t> packet) = 0;
  // The socket is full: call conn.resume_writing() once it is writable again.
  virtual void wait_writable(Connection& conn) = 0;
  virtual void associate_cid(std::string_view cid, Connection& conn) = 0;
  virtual void dissociate_cid(std::string_view cid) = 0;
  // The connection ended; the owner drops its reference (not synchronously from inside a call
  // into the connection — it must post the release).
  virtual void connection_finished(Connection& conn) = 0;
  // Secret for stateless reset tokens.
  virtual std::span<const std::uint8_t> static_secret() const = 0;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  static constexpr std::size_t kCidLength = 18;

  // Server side: accepts the client's first Initial (`hd` from ngtcp2_accept). Throws
  // std::runtime_error when ngtcp2 or GnuTLS refuse.
  static std::shared_ptr<Connection> accept(asio::any_io_executor ex, ConnectionOwner& owner,
                                            const ConnectionSettings& settings,
                                            std::shared_ptr<const ServerCredentials> creds,
                                            std::string_view alpn, const ngtcp2_pkt_hd& hd,
                                            const Address& local, const Address& remote);
  // Client side; the handshake starts with the first write pass.
  static std::shared_ptr<Connection> connect(asio::any_io_executor ex, ConnectionOwner& owner,
                                             const ConnectionSettings& settings,
                                             std::shared_ptr<const ClientCredentials> creds,
                                             ServerVerification verification, std::string_view alpn,
                                             const Address& local, const Address& remote);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void set_application(std::shared_ptr<Application> app) { app_ = std::move(app); }

  // --- driven by the owner -------------------------------------------------------------------
  void on_datagram(const Address& local, const Address& remote, std::span<const std::uint8_t> pkt);
  void resume_writing();
  // Starts the write pass (client: sends the first Initial).
  void start() { schedule_write(); }
  // Forwards the endpoint's shutdown to the application (Application::on_shutdown).
  void notify_shutdown() {
    if (app_ && state_ == State::kOpen) app_->on_shutdown();
  }

  // --- used by the application ---------------------------------------------------------------
  // New local stream; nullopt when the peer's stream limit is reached.
  std::optional<std::int64_t> open_bidi_stream();
  std::optional<std::int64_t> open_uni_stream();
  // Queues bytes (and optionally FIN) for the stream. Ignored after the stream was reset or
  // closed. The caller bounds what it queues using buffered().
  void send(std::int64_t stream_id, std::string bytes, bool fin = false);
  // Bytes of the stream queued or in flight (not yet acknowledged).
  std::size_t buffered(std::int64_t stream_id) const;
  // Credits `n` consumed bytes of the stream back to the peer.
  void consume(std::int64_t stream_id, std::size_t n);
  // RESET_STREAM (our sending side) / STOP_SENDING (peer's sending side).
  void reset_stream(std::int64_t stream_id, std::uint64_t app_error_code);
  void stop_sending(std::int64_t stream_id, std::uint64_t app_error_code);
  // Sends CONNECTION_CLOSE with an application error code and ends the connection.
  void close(std::uint64_t app_error_code, std::string_view reason);
  // Ends the connection without sending anything (e.g. shutdown after the close was sent).
  void abandon(std::string_view reason);

  asio::any_io_executor executor() const { return ex_; }
  bool is_server() const { return server_; }
  bool is_open() const { return state_ == State::kOpen; }
  bool handshake_completed() const;
  // Streams initiated by the peer.
  bool is_remote_stream(std::int64_t stream_id) const;
  const Address& remote_address() const { return remote_; }
  std::string remote_string() const { return remote_.to_string(); }
  // Why the connection ended ("" while open): handshake errors, certificate mismatch, ...
  const std::string& end_reason() const { return end_reason_; }
  std::size_t total_buffered() const { return total_buffered_; }
  std::vector<std::string>& cids() { return cids_; }

 private:
  struct SendQueue {
    std::deque<std::string> chunks;  // unacknowledged data, chunks.front() starts at acked
    std::uint64_t acked = 0;         // stream offset acknowledged by the peer
    std::size_t front_acked = 0;     // bytes of chunks.front() already acknowledged
    std::uint64_t queued = 0;        // stream offset after the last queued byte
    std::uint64_t sent = 0;          // stream offset handed to ngtcp2
    bool fin_queued = false;
    bool fin_sent = false;
    bool blocked = false;  // flow control; cleared on extend_max_stream_data
    bool shut = false;     // reset by us or by STOP_SENDING: never write again
  };

  enum class State { kOpen, kClosing, kDraining, kFinished };

  Connection(asio::any_io_executor ex, ConnectionOwner& owner, bool server);
  static ngtcp2_callbacks callbacks(bool server);
  ngtcp2_tstamp now() const;
  void schedule_write();
  void write();
  void arm_timer();
  void on_timer();
  void handle_error(int liberr);
  void enter_closing();
  void enter_draining();
  void finish(std::string reason);
  bool has_pending_stream(std::int64_t* sid);
  // Fills `vec` (at most max_vec entries) with the stream's bytes not yet handed to ngtcp2; `fin`
  // tells whether its FIN is still to be sent.
  std::size_t collect_unsent(std::int64_t sid, ngtcp2_vec* vec, std::size_t max_vec, bool& fin);
  // A negative result of ngtcp2_conn_writev_stream for `sid`; true = the write pass goes on.
  bool on_write_error(std::int64_t sid, ngtcp2_ssize nwrite, ngtcp2_ssize ndatalen, bool fin);
  // Hands packet_[0, len) to the owner; false when the socket is full (write pass stops).
  bool transmit(const ngtcp2_path& path, std::size_t len);
  void account_sent(std::int64_t sid, ngtcp2_ssize n, bool fin_flag);
  // Drops the stream's send queue (and its bytes from total_buffered_) and its pending mark.
  void forget_stream(std::int64_t sid);
  void send_close_packet();

  // ngtcp2 callbacks
  static int cb_recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t offset,
                                 const uint8_t* data, size_t len, void* user, void* stream_user);
  static int cb_acked(ngtcp2_conn*, int64_t sid, uint64_t offset, uint64_t len, void* user,
                      void* stream_user);
  static int cb_stream_close(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t code, void* user,
                             void* stream_user);
  static int cb_stream_reset(ngtcp2_conn*, int64_t sid, uint64_t final_size, uint64_t code,
                             void* user, void* stream_user);
  static int cb_stream_open(ngtcp2_conn*, int64_t sid, void* user);
  static int cb_extend_max_stream_data(ngtcp2_conn*, int64_t sid, uint64_t max_data, void* user,
                                       void* stream_user);
  static void cb_rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*);
  static int cb_get_new_cid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen,
                            void* user);
  static int cb_remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user);
  static int cb_handshake_completed(ngtcp2_conn*, void* user);
  static int cb_recv_tx_key(ngtcp2_conn*, ngtcp2_crypto_level level, void* user);
  static int cb_recv_datagram(ngtcp2_conn*, uint32_t flags, const uint8_t* data, size_t len,
                              void* user);
  static ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref);
  static int cb_verify(gnutls_session_t session);

  asio::any_io_executor ex_;
  ConnectionOwner& owner_;
  bool server_;
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t tls_ = nullptr;
  ngtcp2_crypto_conn_ref conn_ref_{};
  std::shared_ptr<const ServerCredentials> server_creds_;
  std::shared_ptr<const ClientCredentials> client_creds_;
  ServerVerification verification_;
  std::shared_ptr<Application> app_;
  Address local_, remote_;
  State state_ = State::kOpen;
  std::string end_reason_;
  asio::steady_timer timer_;
  // Earliest wake-up while no stream data waits to be sent (arm_timer).
  static constexpr std::chrono::milliseconds kIdleTimerFloor{1};
  // When the pending wait of timer_ for ngtcp2's expiry fires; max() = none pending.
  std::chrono::steady_clock::time_point timer_armed_for_ =
      std::chrono::steady_clock::time_point::max();
  bool write_scheduled_ = false;
  bool write_blocked_ = false;
  bool ready_signalled_ = false;
  bool close_requested_ = false;
  std::map<std::int64_t, SendQueue> streams_;
  std::set<std::int64_t> pending_;  // streams with unsent data or FIN
  std::int64_t last_written_ = -1;
  std::size_t total_buffered_ = 0;
  std::vector<std::uint8_t> packet_;
  std::string close_packet_;  // our CONNECTION_CLOSE, repeated while closing
  std::size_t close_repeats_ = 0;
  std::vector<std::string> cids_;  // CIDs registered with the owner
  ngtcp2_connection_close_error ccerr_{};
  std::string close_reason_;  // what ccerr_.reason points at (ngtcp2 does not copy it)
};

}  // namespace wasimoff::quic
