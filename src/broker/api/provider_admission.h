// Who may connect as a provider: the one admission check for both provider transports
// (docs/protocol.md §6 for the WebSocket upgrade, §7 for the WebTransport CONNECT).
#pragma once

#include <string>

#include "broker/api/access_policy.h"
#include "broker/providers/provider_session.h"
#include "common/status.h"
#include "net/http/message.h"

namespace wasimoff::broker {

enum class ProviderLink { kWebSocket, kWebTransport };

// Checks a provider's request to connect, in this order: the provider token (unauthenticated),
// a User-Agent on WebSocket only (browsers send none on a WebTransport CONNECT), the origin
// (permission_denied; over WebTransport "same host" compares host names only, because the page
// and the QUIC port differ), and the provider name in `?id=` (invalid_argument). On success,
// describes the provider: its name ("anonymous" when empty), user agent ("unknown" when absent;
// trimmed and cut to 256 bytes), display address and transport.
// The refusal's HTTP status is http_status(code): 401, 403 or 400.
Result<ProviderInfo> admit_provider(const http::Request& request, const AccessPolicy& access,
                                    ProviderLink link);

// Display address of a peer: the first X-Forwarded-For entry or X-Real-IP when present (for
// display only), else the socket peer.
std::string display_address(const http::Request& request);

}  // namespace wasimoff::broker
