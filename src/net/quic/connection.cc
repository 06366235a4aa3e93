#include "net/quic/connection.h"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "common/logging.h"
#include "net/quic/connection_internal.h"

namespace wasimoff::quic {
namespace {

ngtcp2_duration to_ns(std::chrono::milliseconds d) {
  return static_cast<ngtcp2_duration>(d.count()) * NGTCP2_MILLISECONDS;
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

namespace detail {

Address from_ngtcp2(const ngtcp2_addr& a) {
  Address out;
  std::memcpy(&out.storage, a.addr, a.addrlen);
  out.length = a.addrlen;
  return out;
}

}  // namespace detail

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
    owner_.send_packet(detail::from_ngtcp2(ps.path.local), detail::from_ngtcp2(ps.path.remote),
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
  // The first close wins: a second one (e.g. a protocol error, then the FIN that follows it) must
  // not replace the error code and reason of the CONNECTION_CLOSE that is already on its way.
  if (state_ != State::kOpen || close_requested_) return;
  if (end_reason_.empty()) end_reason_ = std::string(reason.empty() ? "closed" : reason);
  // ngtcp2 keeps only a pointer to the reason until the (posted) write pass sends it: it must
  // live in the connection, not in the caller's string.
  close_reason_ = std::string(reason);
  ngtcp2_connection_close_error_set_application_error(
      &ccerr_, app_error_code, reinterpret_cast<const std::uint8_t*>(close_reason_.data()),
      close_reason_.size());
  close_requested_ = true;
  schedule_write();
}

// ---------------------------------------------------------------------------------------------
// Callbacks (connection IDs, handshake, datagrams; the stream callbacks are in
// connection_streams.cc)

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
