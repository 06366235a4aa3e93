// Stream typing of an HTTP/3 server connection: the first bytes of a peer stream decide what it
// is (RFC 9114 §6). Bidi streams are requests, or WebTransport streams when they start with the
// 0x41 signal; uni streams are the peer's control and QPACK streams (one each), WebTransport
// streams (type 0x54), or refused (push, GREASE, unknown). Also the control stream's frames
// (SETTINGS first, then GOAWAY and friends) and the QPACK encoder/decoder streams.
//
// Called from ServerConnection::on_stream_data while a stream's kind is still unknown
// (handle_bidi / handle_uni) and for every later chunk of a critical stream
// (feed_critical_stream). Invariants: bytes before the kind is known are kept in Stream::head
// (credited to the peer as they arrive, except a WebTransport header, which is credited once
// complete); extended CONNECTs that arrive before the peer's SETTINGS wait in pending_connects_.
#include <algorithm>

#include "common/logging.h"
#include "net/h3/error_codes.h"
#include "net/h3/server_connection.h"
#include "net/h3/varint.h"

namespace wasimoff::h3 {
namespace {

constexpr std::size_t kMaxControlFrame = 16 << 10;

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

void ServerConnection::handle_bidi(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data,
                                   bool fin) {
  if (!conn_->is_remote_stream(sid)) return;
  std::string combined = s.head;
  combined.append(reinterpret_cast<const char*>(data.data()), data.size());
  auto bytes = as_bytes(combined);
  auto first = decode_varint(bytes);
  if (first && first->value == 0x41) {  // WebTransport bidi stream signal
    take_session_stream(sid, s, true, std::move(combined), data.size(), first->length, fin);
    return;
  }
  conn_->consume(sid, data.size());
  if (!first) {
    s.head = combined;
    if (fin) s.kind = Kind::kIgnored;
    return;
  }
  s.head.clear();
  max_client_bidi_seen_ = std::max(max_client_bidi_seen_, sid);
  if (shutting_down_) {
    s.kind = Kind::kIgnored;
    stop_sending(sid, error::kRequestRejected);
    reset_stream(sid, error::kRequestRejected);
    return;
  }
  s.kind = Kind::kRequest;
  s.reader = std::make_unique<FrameReader>(options_.max_field_section);
  handle_request_bytes(sid, s, bytes, fin);
}

void ServerConnection::handle_uni(std::int64_t sid, Stream& s, std::span<const std::uint8_t> data,
                                  bool fin) {
  std::string combined = s.head;
  combined.append(reinterpret_cast<const char*>(data.data()), data.size());
  auto bytes = as_bytes(combined);
  auto type = decode_varint(bytes);
  if (type && type->value == 0x54) {  // WebTransport uni stream
    take_session_stream(sid, s, false, std::move(combined), data.size(), type->length, fin);
    return;
  }
  conn_->consume(sid, data.size());
  if (!type) {
    s.head = combined;
    if (fin) s.kind = Kind::kIgnored;
    return;
  }
  s.head.clear();
  if (!open_critical_stream(sid, s, type->value)) return;
  // The bytes after the stream type (already credited above).
  feed_critical_stream(s, bytes.subspan(type->length));
  if (fin) fail(error::kClosedCriticalStream, "peer closed a critical stream");
}

void ServerConnection::take_session_stream(std::int64_t sid, Stream& s, bool bidi,
                                           std::string combined, std::size_t new_bytes,
                                           std::size_t signal_length, bool fin) {
  const std::size_t prior = combined.size() - new_bytes;  // already credited
  auto bytes = as_bytes(combined);
  auto session = decode_varint(bytes.subspan(signal_length));
  if (!session) {
    // The session id is not complete yet: keep the bytes and wait for more.
    s.head = combined;
    conn_->consume(sid, new_bytes);
    if (fin) s.kind = Kind::kIgnored;
    return;
  }
  const std::size_t header = signal_length + session->length;
  conn_->consume(sid, header - prior);
  s.head.clear();
  if (!extension_) {
    s.kind = Kind::kIgnored;
    conn_->consume(sid, combined.size() - header);
    stop_sending(sid, error::kStreamCreationError);
    if (bidi) reset_stream(sid, error::kStreamCreationError);
    return;
  }
  s.kind = Kind::kSession;
  extension_->on_session_stream(sid, bidi, session->value);
  if (s.kind == Kind::kSession && (combined.size() > header || fin))
    extension_->on_stream_data(sid, bytes.subspan(header), fin);
}

bool ServerConnection::open_critical_stream(std::int64_t sid, Stream& s, std::uint64_t type) {
  switch (type) {
    case stream_type::kControl:
      if (have_peer_control_) {
        fail(error::kStreamCreationError, "second control stream");
        return false;
      }
      have_peer_control_ = true;
      s.kind = Kind::kControl;
      s.reader = std::make_unique<FrameReader>(kMaxControlFrame);
      return true;
    case stream_type::kQpackEncoder:
      if (have_peer_encoder_) {
        fail(error::kStreamCreationError, "second QPACK encoder stream");
        return false;
      }
      have_peer_encoder_ = true;
      s.kind = Kind::kQpackEncoder;
      return true;
    case stream_type::kQpackDecoder:
      if (have_peer_decoder_) {
        fail(error::kStreamCreationError, "second QPACK decoder stream");
        return false;
      }
      have_peer_decoder_ = true;
      s.kind = Kind::kQpackDecoder;
      return true;
    default:
      // Push streams from a client, GREASE and unknown types (RFC 9114 §6.2).
      s.kind = Kind::kIgnored;
      stop_sending(sid, error::kStreamCreationError);
      return false;
  }
}

void ServerConnection::feed_critical_stream(Stream& s, std::span<const std::uint8_t> data) {
  switch (s.kind) {
    case Kind::kControl: {
      auto res =
          s.reader->feed(data, {[&](std::uint64_t type, std::string_view payload) {
                                  handle_control_frame(type, payload, s);
                                  return !closed_;
                                },
                                [&](std::span<const std::uint8_t>) {
                                  fail(error::kFrameUnexpected, "DATA on the control stream");
                                  return false;
                                }});
      if (res == FrameReader::Result::kFrameTooLarge)
        fail(error::kExcessiveLoad, "control frame too large");
      break;
    }
    case Kind::kQpackEncoder:
      if (!decoder_.read_encoder_stream(data))
        fail(error::kQpackEncoderStreamError, "bad QPACK encoder stream");
      break;
    case Kind::kQpackDecoder:
      if (!encoder_.read_decoder_stream(data))
        fail(error::kQpackDecoderStreamError, "bad QPACK decoder stream");
      break;
    default:
      break;
  }
}

void ServerConnection::handle_control_frame(std::uint64_t type, std::string_view payload,
                                            Stream& s) {
  if (!s.settings_seen) {
    if (type != frame::kSettings)
      return fail(error::kMissingSettings, "first control frame is not SETTINGS");
    s.settings_seen = true;
    std::string err;
    auto settings = decode_settings_payload(payload, &err);
    if (!settings) return fail(error::kSettingsError, err);
    peer_settings_ = std::move(*settings);
    peer_settings_received_ = true;
    dispatch_pending_connects();
    return;
  }
  switch (type) {
    case frame::kSettings:
      return fail(error::kFrameUnexpected, "second SETTINGS frame");
    case frame::kHeaders:
    case frame::kPushPromise:
      return fail(error::kFrameUnexpected, "request frame on the control stream");
    case frame::kGoaway:
    case frame::kMaxPushId:
    case frame::kCancelPush:
      return;  // we never push; a client's GOAWAY needs no action from a server
    default:
      if (frame::is_http2_only(type)) return fail(error::kFrameUnexpected, "HTTP/2 frame type");
  }
}

void ServerConnection::dispatch_pending_connects() {
  auto pending = std::move(pending_connects_);
  pending_connects_.clear();
  for (auto& [sid, head] : pending) {
    if (closed_) return;
    if (streams_.count(sid) && extension_) extension_->on_connect(sid, std::move(head));
  }
}
}  // namespace wasimoff::h3
