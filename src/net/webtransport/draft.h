// Everything that depends on the WebTransport-over-HTTP/3 draft version lives here, so moving to
// a later draft or the RFC touches one file. Today: draft-02 as Chromium 156 speaks it
// (docs/webtransport.md §2–3), with the draft-07 session-limit setting advertised as well.
#pragma once

#include <cstdint>
#include <string>

#include "net/h3/qpack.h"
#include "net/h3/settings.h"

namespace wasimoff::webtransport::draft {

// SETTINGS identifiers.
inline constexpr std::uint64_t kSettingEnableWebTransport = 0x2b603742;  // draft-02
inline constexpr std::uint64_t kSettingMaxSessionsDraft07 = 0xc671706a;  // draft-07

// Stream signals: first varint of a WebTransport bidi stream, type of a WebTransport uni stream.
inline constexpr std::uint64_t kBidiSignal = 0x41;
inline constexpr std::uint64_t kUniStreamType = 0x54;

// Capsule types (on the CONNECT stream).
inline constexpr std::uint64_t kCapsuleCloseSession = 0x2843;
inline constexpr std::uint64_t kCapsuleDrainSession = 0x78ae;

// :protocol value of the extended CONNECT.
inline constexpr const char* kConnectProtocol = "webtransport";

// Sessions we allow per connection (one per provider connection, docs/webtransport.md §6).
inline constexpr std::uint64_t kMaxSessions = 1;

enum class Version { kNone, kDraft02 };

// Our SETTINGS, server and client alike: QPACK without dynamic table, extended CONNECT,
// HTTP datagrams (RFC and draft-04 ids), ENABLE_WEBTRANSPORT (draft-02) and
// WEBTRANSPORT_MAX_SESSIONS (draft-07).
h3::Settings local_settings();

// The version both sides speak given the peer's SETTINGS; kNone when the peer lacks
// H3_DATAGRAM or WebTransport support (such a CONNECT is refused).
Version negotiate(const h3::Settings& peer);

// Extra response fields when accepting a session.
h3::HeaderList accept_fields();
// Extra request fields of the client's CONNECT.
h3::HeaderList connect_fields();

}  // namespace wasimoff::webtransport::draft
