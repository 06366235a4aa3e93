// An in-memory Transport pair for unit tests: what one end sends, the other receives. Envelopes
// go through the binary codec (so tests exercise real encoding); closing one end ends both.
#pragma once

#include <memory>
#include <utility>

#include "protocol/transport.h"

namespace wasimoff::protocol {

// Returns two connected ends on `ex`. `capacity` bounds each direction's in-flight messages
// (send() waits while the peer's inbox is full).
std::pair<std::unique_ptr<Transport>, std::unique_ptr<Transport>> make_memory_transport_pair(
    asio::any_io_executor ex, std::size_t capacity = 1024);

}  // namespace wasimoff::protocol
