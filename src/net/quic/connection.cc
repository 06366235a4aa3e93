#include "net/quic/connection.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/logging.h"

namespace wasimoff::quic {
namespace {

ngtcp2_duration to_ns(std::chrono::milliseconds d) {
  return static_cast<ngtcp2_duration>(d.count()) * NGTCP2_MILLISECONDS;
}

Address from_ngtcp2(const ngtcp2_addr& a) {
  Address out;
  std::memcpy(&out.storage, a.addr, a.addrlen);
  out.length = a.addrlen;
  return out;
}

ngtcp2_path make_path(const Address& local, const Address& remote) {
  ngtcp2_path p{};
  p.local.addr = const_cast<ngtcp2_sockaddr*>(reinterpret_cast<const ngtcp2_sockaddr*>(local.sa()));
  p.local.addrlen = local.length;
  p.remote.addr =
      const_cast<ngtcp2_sockaddr*>(reinterpret_cast<const ngtcp2_sockaddr*>(remote.sa()));
  p.remote.addrlen = remote.length;
  return p;
}

void random_cid(ngtcp2_cid& cid, std::size_t len) {
  cid.datalen = len;
  gnutls_rnd(GNUTLS_RND_NONCE, cid.data, len);
}

std::string cid_key(const ngtcp2_cid& cid) {
  return std::string(reinterpret_cast<const char*>(cid.data), cid.datalen);
}

void fill_params(ngtcp2_transport_params& p, const ConnectionSettings& s) {
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = s.stream_window;
  p.initial_max_stream_data_bidi_remote = s.stream_window;
  p.initial_max_stream_data_uni = s.stream_window;
  p.initial_max_data = s.connection_window;
  p.initial_max_streams_bidi = s.max_streams_bidi;
  p.initial_max_streams_uni = s.max_streams_uni;
  p.max_idle_timeout = to_ns(s.idle_timeout);
  p.max_datagram_frame_size = s.max_datagram_frame_size;
  p.active_connection_id_limit = 7;
}

}  // namespace

Connection::Connection(asio::any_io_executor ex, ConnectionOwner& owner, bool server)
    : ex_(ex), owner_(owner), server_(server), timer_(ex) {
  conn_ref_.get_conn = &Connection::get_conn;
  conn_ref_.user_data = this;
  ngtcp2_connection_close_error_default(&ccerr_);
}

Connection::~Connection() {
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_) gnutls_deinit(tls_);
}

ngtcp2_conn* Connection::get_conn(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<Connection*>(ref->user_data)->conn_;
}

ngtcp2_tstamp Connection::now() const {
  return static_cast<ngtcp2_tstamp>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

ngtcp2_callbacks Connection::callbacks(bool server) {
  ngtcp2_callbacks cb{};
  if (server) {
    cb.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  } else {
    cb.client_initial = ngtcp2_crypto_client_initial_cb;
    cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  }
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.recv_stream_data = &Connection::cb_recv_stream_data;
  cb.acked_stream_data_offset = &Connection::cb_acked;
  cb.stream_close = &Connection::cb_stream_close;
  cb.stream_reset = &Connection::cb_stream_reset;
  cb.stream_open = &Connection::cb_stream_open;
  cb.extend_max_stream_data = &Connection::cb_extend_max_stream_data;
  cb.rand = &Connection::cb_rand;
  cb.get_new_connection_id = &Connection::cb_get_new_cid;
  cb.remove_connection_id = &Connection::cb_remove_cid;
  cb.handshake_completed = &Connection::cb_handshake_completed;
  cb.recv_tx_key = &Connection::cb_recv_tx_key;
  cb.recv_datagram = &Connection::cb_recv_datagram;
  return cb;
}

std::shared_ptr<Connection> Connection::accept(asio::any_io_executor ex, ConnectionOwner& owner,
                                               const ConnectionSettings& settings,
                                               std::shared_ptr<const ServerCredentials> creds,
                                               std::string_view alpn, const ngtcp2_pkt_hd& hd,
                                               const Address& local, const Address& remote) {
  std::shared_ptr<Connection> c(new Connection(ex, owner, true));
  c->local_ = local;
  c->remote_ = remote;
  c->server_creds_ = std::move(creds);
  ngtcp2_cid scid;
  random_cid(scid, kCidLength);
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = c->now();
  s.handshake_timeout = to_ns(settings.handshake_timeout);
  s.cc_algo = NGTCP2_CC_ALGO_CUBIC;
  ngtcp2_transport_params p;
  fill_params(p, settings);
  p.original_dcid = hd.dcid;
  p.stateless_reset_token_present = 1;
  auto secret = owner.static_secret();
  if (ngtcp2_crypto_generate_stateless_reset_token(p.stateless_reset_token, secret.data(),
                                                   secret.size(), &scid) != 0)
    throw std::runtime_error("cannot derive stateless reset token");
  auto path = make_path(local, remote);
  auto cb = callbacks(true);
  int rv = ngtcp2_conn_server_new(&c->conn_, &hd.scid, &scid, &path, hd.version, &cb, &s, &p,
                                  nullptr, c.get());
  if (rv != 0)
    throw std::runtime_error(std::string("ngtcp2_conn_server_new: ") + ngtcp2_strerror(rv));
  c->tls_ = new_server_session(*c->server_creds_, alpn);
  gnutls_session_set_ptr(c->tls_, &c->conn_ref_);
  ngtcp2_conn_set_tls_native_handle(c->conn_, c->tls_);
  ngtcp2_conn_set_keep_alive_timeout(c->conn_, to_ns(settings.keep_alive));
  for (const auto& cid : {cid_key(hd.dcid), cid_key(scid)}) {
    c->cids_.push_back(cid);
    owner.associate_cid(cid, *c);
  }
  return c;
}

std::shared_ptr<Connection> Connection::connect(asio::any_io_executor ex, ConnectionOwner& owner,
                                                const ConnectionSettings& settings,
                                                std::shared_ptr<const ClientCredentials> creds,
                                                ServerVerification verification,
                                                std::string_view alpn, const Address& local,
                                                const Address& remote) {
  std::shared_ptr<Connection> c(new Connection(ex, owner, false));
  c->local_ = local;
  c->remote_ = remote;
  c->client_creds_ = std::move(creds);
  c->verification_ = std::move(verification);
  ngtcp2_cid scid, dcid;
  random_cid(scid, kCidLength);
  random_cid(dcid, kCidLength);
  ngtcp2_settings s;
  ngtcp2_settings_default(&s);
  s.initial_ts = c->now();
  s.handshake_timeout = to_ns(settings.handshake_timeout);
  s.cc_algo = NGTCP2_CC_ALGO_CUBIC;
  ngtcp2_transport_params p;
  fill_params(p, settings);
  auto path = make_path(local, remote);
  auto cb = callbacks(false);
  int rv = ngtcp2_conn_client_new(&c->conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &s, &p,
                                  nullptr, c.get());
  if (rv != 0)
    throw std::runtime_error(std::string("ngtcp2_conn_client_new: ") + ngtcp2_strerror(rv));
  c->tls_ = new_client_session(*c->client_creds_, c->verification_.server_name, alpn);
  gnutls_session_set_ptr(c->tls_, &c->conn_ref_);
  gnutls_session_set_verify_function(c->tls_, &Connection::cb_verify);
  ngtcp2_conn_set_tls_native_handle(c->conn_, c->tls_);
  ngtcp2_conn_set_keep_alive_timeout(c->conn_, to_ns(settings.keep_alive));
  c->cids_.push_back(cid_key(scid));
  owner.associate_cid(c->cids_.back(), *c);
  return c;
}

int Connection::cb_verify(gnutls_session_t session) {
  auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
  auto* self = static_cast<Connection*>(ref->user_data);
  auto err = verify_server_certificate(session, self->verification_);
  if (!err.empty()) {
    if (self->end_reason_.empty()) self->end_reason_ = err;
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  return 0;
}

bool Connection::handshake_completed() const {
  return conn_ && ngtcp2_conn_get_handshake_completed(conn_);
}

bool Connection::is_remote_stream(std::int64_t stream_id) const {
  const bool client_initiated = (stream_id & 0x1) == 0;
  return server_ ? client_initiated : !client_initiated;
}

// ---------------------------------------------------------------------------------------------
// Reading

void Connection::on_datagram(const Address& local, const Address& remote,
                             std::span<const std::uint8_t> pkt) {
  auto keep = shared_from_this();
  if (state_ == State::kFinished || state_ == State::kDraining) return;
  if (state_ == State::kClosing) {
    // Repeat our CONNECTION_CLOSE for a few packets (RFC 9000 §10.2.1), then stay silent.
    if (!close_packet_.empty() && close_repeats_++ < 8) {
      owner_.send_packet(
          local_, remote_,
          {reinterpret_cast<const std::uint8_t*>(close_packet_.data()), close_packet_.size()});
    }
    return;
  }
  auto path = make_path(local, remote);
  ngtcp2_pkt_info pi{};
  const int rv = ngtcp2_conn_read_pkt(conn_, &path, &pi, pkt.data(), pkt.size(), now());
  if (rv != 0) {
    handle_error(rv);
    return;
  }
  schedule_write();
}

void Connection::handle_error(int liberr) {
  switch (liberr) {
    case NGTCP2_ERR_DRAINING:
      enter_draining();
      return;
    case NGTCP2_ERR_DROP_CONN:
      finish("connection dropped");
      return;
    case NGTCP2_ERR_IDLE_CLOSE:
      finish("idle timeout");
      return;
    case NGTCP2_ERR_HANDSHAKE_TIMEOUT:
      finish("handshake timeout");
      return;
    case NGTCP2_ERR_CRYPTO:
      if (end_reason_.empty()) end_reason_ = "TLS handshake failed";
      ngtcp2_connection_close_error_set_transport_error_tls_alert(
          &ccerr_, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
      break;
    default:
      if (end_reason_.empty()) end_reason_ = std::string("QUIC error: ") + ngtcp2_strerror(liberr);
      ngtcp2_connection_close_error_set_transport_error_liberr(&ccerr_, liberr, nullptr, 0);
      break;
  }
  send_close_packet();
}

void Connection::send_close_packet() {
  if (state_ != State::kOpen) return;
  if (ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) {
    enter_closing();
    return;
  }
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  packet_.resize(NGTCP2_MAX_UDP_PAYLOAD_SIZE * 2);
  const auto n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, packet_.data(),
                                                    packet_.size(), &ccerr_, now());
  if (n > 0) {
    close_packet_.assign(reinterpret_cast<const char*>(packet_.data()),
                         static_cast<std::size_t>(n));
    owner_.send_packet(from_ngtcp2(ps.path.local), from_ngtcp2(ps.path.remote),
                       {packet_.data(), static_cast<std::size_t>(n)});
  }
  enter_closing();
}

void Connection::enter_closing() {
  if (state_ != State::kOpen) return;
  state_ = State::kClosing;
  if (end_reason_.empty()) end_reason_ = "closed";
  timer_armed_for_ = std::chrono::steady_clock::time_point::min();  // arm_timer() is done
  timer_.expires_after(std::chrono::nanoseconds(3 * ngtcp2_conn_get_pto(conn_)));
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->finish(self->end_reason_);
  });
}

void Connection::enter_draining() {
  if (state_ != State::kOpen) return;
  state_ = State::kDraining;
  if (end_reason_.empty()) {
    ngtcp2_connection_close_error e;
    ngtcp2_conn_get_connection_close_error(conn_, &e);
    end_reason_ = "peer closed the connection (code " + std::to_string(e.error_code) + ")";
  }
  timer_armed_for_ = std::chrono::steady_clock::time_point::min();  // arm_timer() is done
  timer_.expires_after(std::chrono::nanoseconds(3 * ngtcp2_conn_get_pto(conn_)));
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->finish(self->end_reason_);
  });
}

void Connection::finish(std::string reason) {
  if (state_ == State::kFinished) return;
  state_ = State::kFinished;
  if (end_reason_.empty()) end_reason_ = std::move(reason);
  timer_.cancel();
  for (const auto& cid : cids_) owner_.dissociate_cid(cid);
  cids_.clear();
  // The application learns about the end from the loop, never from inside one of its own calls;
  // releasing it also breaks the application → connection reference cycle.
  if (app_) {
    asio::post(ex_, [app = std::move(app_), reason = end_reason_] { app->on_closed(reason); });
  }
  owner_.connection_finished(*this);
}

void Connection::abandon(std::string_view reason) {
  if (end_reason_.empty()) end_reason_ = std::string(reason);
  finish(std::string(reason));
}

void Connection::close(std::uint64_t app_error_code, std::string_view reason) {
  if (state_ != State::kOpen) return;
  if (end_reason_.empty()) end_reason_ = std::string(reason.empty() ? "closed" : reason);
  ngtcp2_connection_close_error_set_application_error(
      &ccerr_, app_error_code, reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  close_requested_ = true;
  schedule_write();
}

// ---------------------------------------------------------------------------------------------
// Streams

std::optional<std::int64_t> Connection::open_bidi_stream() {
  if (state_ != State::kOpen) return std::nullopt;
  std::int64_t id = -1;
  if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return std::nullopt;
  streams_[id];
  return id;
}

std::optional<std::int64_t> Connection::open_uni_stream() {
  if (state_ != State::kOpen) return std::nullopt;
  std::int64_t id = -1;
  if (ngtcp2_conn_open_uni_stream(conn_, &id, nullptr) != 0) return std::nullopt;
  streams_[id];
  return id;
}

void Connection::send(std::int64_t stream_id, std::string bytes, bool fin) {
  if (state_ != State::kOpen) return;
  auto& q = streams_[stream_id];
  if (q.shut || q.fin_queued) return;
  if (!bytes.empty()) {
    q.queued += bytes.size();
    total_buffered_ += bytes.size();
    q.chunks.push_back(std::move(bytes));
  }
  if (fin) q.fin_queued = true;
  if (!q.blocked) pending_.insert(stream_id);
  schedule_write();
}

std::size_t Connection::buffered(std::int64_t stream_id) const {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? 0 : static_cast<std::size_t>(it->second.queued - it->second.acked);
}

void Connection::consume(std::int64_t stream_id, std::size_t n) {
  if (state_ != State::kOpen || n == 0) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, n);
  ngtcp2_conn_extend_max_offset(conn_, n);
  schedule_write();
}

void Connection::reset_stream(std::int64_t stream_id, std::uint64_t app_error_code) {
  if (state_ != State::kOpen) return;
  if (auto it = streams_.find(stream_id); it != streams_.end()) it->second.shut = true;
  pending_.erase(stream_id);
  ngtcp2_conn_shutdown_stream_write(conn_, stream_id, app_error_code);
  schedule_write();
}

void Connection::stop_sending(std::int64_t stream_id, std::uint64_t app_error_code) {
  if (state_ != State::kOpen) return;
  ngtcp2_conn_shutdown_stream_read(conn_, stream_id, app_error_code);
  schedule_write();
}

// ---------------------------------------------------------------------------------------------
// Writing

void Connection::schedule_write() {
  if (write_scheduled_ || state_ != State::kOpen) return;
  write_scheduled_ = true;
  asio::post(ex_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      self->write_scheduled_ = false;
      self->write();
    }
  });
}

void Connection::resume_writing() {
  write_blocked_ = false;
  schedule_write();
}

bool Connection::has_pending_stream(std::int64_t* sid) {
  if (pending_.empty()) return false;
  auto it = pending_.upper_bound(last_written_);
  if (it == pending_.end()) it = pending_.begin();
  *sid = *it;
  return true;
}

void Connection::account_sent(std::int64_t sid, ngtcp2_ssize n, bool fin_flag) {
  auto it = streams_.find(sid);
  if (it == streams_.end() || n < 0) return;
  auto& q = it->second;
  q.sent += static_cast<std::uint64_t>(n);
  if (fin_flag && q.sent == q.queued) q.fin_sent = true;
  if (q.sent == q.queued && (!q.fin_queued || q.fin_sent)) pending_.erase(sid);
}

void Connection::write() {
  if (state_ != State::kOpen) return;
  if (close_requested_) {
    close_requested_ = false;
    send_close_packet();
    return;
  }
  if (write_blocked_) return;
  const ngtcp2_tstamp ts = now();
  const std::size_t max_udp = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  const std::size_t quantum = ngtcp2_conn_get_send_quantum(conn_);
  const std::size_t max_packets = std::clamp<std::size_t>(quantum / max_udp, 1, 64);
  packet_.resize(std::max<std::size_t>(max_udp, NGTCP2_MAX_UDP_PAYLOAD_SIZE));
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  std::size_t packets = 0;
  ngtcp2_vec vec[16];
  for (;;) {
    std::int64_t sid = -1;
    std::size_t nvec = 0;
    bool fin = false;
    if (has_pending_stream(&sid)) {
      auto& q = streams_[sid];
      // Collect the unsent bytes starting at q.sent.
      std::uint64_t offset = q.acked - q.front_acked;  // stream offset of chunks.front()
      for (auto& chunk : q.chunks) {
        const std::uint64_t end = offset + chunk.size();
        if (end > q.sent) {
          const std::size_t skip = q.sent > offset ? static_cast<std::size_t>(q.sent - offset) : 0;
          vec[nvec].base = reinterpret_cast<std::uint8_t*>(chunk.data()) + skip;
          vec[nvec].len = chunk.size() - skip;
          if (++nvec == std::size(vec)) break;
        }
        offset = end;
      }
      fin = q.fin_queued && !q.fin_sent;
    }
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    ngtcp2_pkt_info pi{};
    ngtcp2_ssize ndatalen = -1;
    const auto nwrite = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, packet_.data(), max_udp,
                                                  &ndatalen, flags, sid, vec, nvec, ts);
    if (nwrite < 0) {
      if (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        streams_[sid].blocked = true;
        pending_.erase(sid);
        continue;
      }
      if (nwrite == NGTCP2_ERR_STREAM_NOT_FOUND) {
        // Written to after QUIC forgot the stream (closed or reset): drop the data.
        if (auto it = streams_.find(sid); it != streams_.end()) {
          total_buffered_ -=
              std::min<std::size_t>(total_buffered_, it->second.queued - it->second.acked);
          streams_.erase(it);
        }
        pending_.erase(sid);
        continue;
      }
      if (nwrite == NGTCP2_ERR_STREAM_SHUT_WR) {
        // The peer sent STOP_SENDING (ngtcp2 answered with RESET_STREAM), or we reset it.
        auto& q = streams_[sid];
        const bool by_peer = !q.shut;
        q.shut = true;
        pending_.erase(sid);
        if (by_peer && app_) app_->on_stop_sending(sid, 0);
        if (state_ != State::kOpen) return;
        continue;
      }
      if (nwrite == NGTCP2_ERR_WRITE_MORE) {
        account_sent(sid, ndatalen, fin);
        last_written_ = sid;
        continue;
      }
      handle_error(static_cast<int>(nwrite));
      return;
    }
    if (sid >= 0 && ndatalen >= 0) {
      account_sent(sid, ndatalen, fin);
      last_written_ = sid;
    }
    if (nwrite == 0) break;
    const auto res = owner_.send_packet(from_ngtcp2(ps.path.local), from_ngtcp2(ps.path.remote),
                                        {packet_.data(), static_cast<std::size_t>(nwrite)});
    if (res == ConnectionOwner::SendResult::kWouldBlock) {
      // The packet counts as lost; QUIC recovers it. Resume once the socket drains.
      write_blocked_ = true;
      owner_.wait_writable(*this);
      break;
    }
    if (++packets >= max_packets) break;
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  arm_timer();
}

void Connection::arm_timer() {
  if (state_ != State::kOpen) return;
  const ngtcp2_tstamp expiry = ngtcp2_conn_get_expiry(conn_);
  if (expiry == UINT64_MAX) return;
  auto when = std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::nanoseconds(expiry)));
  // After write() there is nothing ngtcp2 could send right now (it writes due ACKs and probes
  // itself), so an expiry that is already here or a few microseconds away is the pacer's next
  // send time. With no stream data waiting, that wake-up has nothing to do, yet it cost a timer
  // fire and two timerfd_settime() per packet (most of the QUIC path's syscalls for small
  // tasks). Such a timer is deferred by at most kIdleTimerFloor; an ACK or loss timer falling due
  // in that window is handled that much later, well within max_ack_delay.
  if (pending_.empty()) {
    const auto floor = std::chrono::steady_clock::now() + kIdleTimerFloor;
    if (when < floor) when = floor;
  }
  // The expiry moves later with almost every packet (loss detection, idle timeout). Re-arming
  // for each one cost a cancelled handler and a timerfd_settime() per packet; a pending wait
  // that fires before the current expiry is harmless instead: on_timer() lets ngtcp2 handle
  // what has expired (possibly nothing) and arms again for the then-current expiry.
  if (timer_armed_for_ <= when) return;
  timer_armed_for_ = when;
  timer_.expires_at(when);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // re-armed earlier (that wait owns timer_armed_for_) or closed
    if (auto self = weak.lock()) {
      self->timer_armed_for_ = std::chrono::steady_clock::time_point::max();
      self->on_timer();
    }
  });
}

void Connection::on_timer() {
  if (state_ != State::kOpen) return;
  const int rv = ngtcp2_conn_handle_expiry(conn_, now());
  if (rv != 0) {
    handle_error(rv);
    return;
  }
  write();
}

// ---------------------------------------------------------------------------------------------
// Callbacks

int Connection::cb_recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t sid, uint64_t,
                                    const uint8_t* data, size_t len, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  if (self->app_)
    self->app_->on_stream_data(sid, {data, len}, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  return 0;
}

int Connection::cb_acked(ngtcp2_conn*, int64_t sid, uint64_t, uint64_t len, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  auto it = self->streams_.find(sid);
  if (it == self->streams_.end()) return 0;
  auto& q = it->second;
  q.acked += len;
  self->total_buffered_ -= std::min<std::size_t>(self->total_buffered_, len);
  std::size_t left = len;
  while (left > 0 && !q.chunks.empty()) {
    const std::size_t in_front = q.chunks.front().size() - q.front_acked;
    if (left >= in_front) {
      left -= in_front;
      q.chunks.pop_front();
      q.front_acked = 0;
    } else {
      q.front_acked += left;
      left = 0;
    }
  }
  if (self->app_) self->app_->on_send_progress(sid);
  return 0;
}

int Connection::cb_stream_close(ngtcp2_conn*, uint32_t, int64_t sid, uint64_t, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  if (auto it = self->streams_.find(sid); it != self->streams_.end()) {
    self->total_buffered_ -=
        std::min<std::size_t>(self->total_buffered_, it->second.queued - it->second.acked);
    self->streams_.erase(it);
  }
  self->pending_.erase(sid);
  if (self->is_remote_stream(sid)) {
    if (sid & 0x2)
      ngtcp2_conn_extend_max_streams_uni(self->conn_, 1);
    else
      ngtcp2_conn_extend_max_streams_bidi(self->conn_, 1);
  }
  if (self->app_) self->app_->on_stream_closed(sid);
  return 0;
}

int Connection::cb_stream_reset(ngtcp2_conn*, int64_t sid, uint64_t, uint64_t code, void* user,
                                void*) {
  auto* self = static_cast<Connection*>(user);
  if (self->app_) self->app_->on_stream_reset(sid, code);
  return 0;
}

int Connection::cb_stream_open(ngtcp2_conn*, int64_t, void*) {
  // Registered so that ngtcp2 counts every remote stream as opened; credit for a new stream is
  // then always returned by us in cb_stream_close (ngtcp2 0.12 does not do it automatically).
  return 0;
}

int Connection::cb_extend_max_stream_data(ngtcp2_conn*, int64_t sid, uint64_t, void* user, void*) {
  auto* self = static_cast<Connection*>(user);
  if (auto it = self->streams_.find(sid); it != self->streams_.end() && it->second.blocked) {
    it->second.blocked = false;
    auto& q = it->second;
    if (!q.shut && (q.sent < q.queued || (q.fin_queued && !q.fin_sent))) self->pending_.insert(sid);
  }
  if (self->app_) self->app_->on_send_progress(sid);
  return 0;
}

void Connection::cb_rand(uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) {
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

int Connection::cb_get_new_cid(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t cidlen,
                               void* user) {
  auto* self = static_cast<Connection*>(user);
  random_cid(*cid, cidlen);
  auto secret = self->owner_.static_secret();
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret.data(), secret.size(), cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  self->cids_.push_back(cid_key(*cid));
  self->owner_.associate_cid(self->cids_.back(), *self);
  return 0;
}

int Connection::cb_remove_cid(ngtcp2_conn*, const ngtcp2_cid* cid, void* user) {
  auto* self = static_cast<Connection*>(user);
  auto key = cid_key(*cid);
  self->owner_.dissociate_cid(key);
  std::erase(self->cids_, key);
  return 0;
}

int Connection::cb_handshake_completed(ngtcp2_conn*, void* user) {
  auto* self = static_cast<Connection*>(user);
  if (!self->server_ && !self->ready_signalled_) {
    self->ready_signalled_ = true;
    if (self->app_) self->app_->on_ready();
  }
  return 0;
}

int Connection::cb_recv_tx_key(ngtcp2_conn*, ngtcp2_crypto_level level, void* user) {
  auto* self = static_cast<Connection*>(user);
  if (self->server_ && level == NGTCP2_CRYPTO_LEVEL_APPLICATION && !self->ready_signalled_) {
    self->ready_signalled_ = true;
    if (self->app_) self->app_->on_ready();
  }
  return 0;
}

int Connection::cb_recv_datagram(ngtcp2_conn*, uint32_t, const uint8_t* data, size_t len,
                                 void* user) {
  auto* self = static_cast<Connection*>(user);
  if (self->app_) self->app_->on_datagram({data, len});
  return 0;
}

}  // namespace wasimoff::quic
