// Helpers shared by the files of quic::Connection (connection.cc, connection_writer.cc); not
// part of the QUIC API.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include "net/quic/udp_socket.h"

namespace wasimoff::quic::detail {

// The socket address ngtcp2 reports for a packet's path, as an Address.
Address from_ngtcp2(const ngtcp2_addr& a);

}  // namespace wasimoff::quic::detail
