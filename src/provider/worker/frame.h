// Framing of the supervisor <-> worker socketpair: a 4-byte little-endian length, then that many
// bytes of a serialized worker.proto message. This file has the format and the worker's
// blocking I/O; the supervisor reads and writes the same frames asynchronously (pool/).
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace wasimoff::worker {

// Bumped whenever worker.proto or the module ABI changes; the Hello carries it so a supervisor
// never talks to a stale worker binary.
inline constexpr std::uint32_t kWorkerAbi = 1;

inline constexpr std::size_t kFrameHeaderSize = 4;
// No frame is larger than this (requests carry at most a message-size worth of stdin and
// inline rootfs; replies at most the output limit).
inline constexpr std::uint32_t kMaxFrameSize = 1u << 30;

// Header + serialized message.
std::string encode_frame(const google::protobuf::MessageLite& msg);
// The length in a 4-byte header.
std::uint32_t decode_frame_header(const char* header);

// Blocking: reads one frame body into `body`. Returns false on a clean EOF before the header;
// throws std::runtime_error on I/O errors, EOF inside a frame, or a frame over `max_size`.
bool read_frame(int fd, std::string* body, std::uint32_t max_size = kMaxFrameSize);
// Blocking: writes all bytes (retrying on EINTR / short writes); throws std::runtime_error.
void write_all(int fd, std::string_view bytes);

}  // namespace wasimoff::worker
