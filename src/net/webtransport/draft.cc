#include "net/webtransport/draft.h"

namespace wasimoff::webtransport::draft {

h3::Settings local_settings() {
  h3::Settings s;
  s.set(h3::setting::kQpackMaxTableCapacity, 0);
  s.set(h3::setting::kQpackBlockedStreams, 0);
  s.set(h3::setting::kEnableConnectProtocol, 1);
  s.set(h3::setting::kH3Datagram, 1);
  s.set(kSettingEnableWebTransport, 1);
  s.set(kSettingMaxSessionsDraft07, kMaxSessions);  // what session_host.cc enforces
  return s;
}

Version negotiate(const h3::Settings& peer) {
  const bool datagrams = peer.get(h3::setting::kH3Datagram).value_or(0) == 1 ||
                         peer.get(h3::setting::kH3DatagramDraft04).value_or(0) == 1;
  const bool webtransport = peer.get(kSettingEnableWebTransport).value_or(0) == 1 ||
                            peer.get(h3::setting::kEnableConnectProtocol).value_or(0) == 1;
  return datagrams && webtransport ? Version::kDraft02 : Version::kNone;
}

h3::HeaderList accept_fields() {
  return {{"sec-webtransport-http3-draft", "draft02"}};
}

h3::HeaderList connect_fields() {
  return {{"sec-webtransport-http3-draft02", "1"}};
}

}  // namespace wasimoff::webtransport::draft
