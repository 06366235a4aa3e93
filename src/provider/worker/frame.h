// Framing of the supervisor <-> worker socketpair: a 4-byte little-endian length, then that many
// bytes of a serialized worker.proto message. File descriptors (a request's compiled module and
// rootfs archive) travel as SCM_RIGHTS ancillary data attached to the frame's header bytes. This
// file has the format and the blocking I/O of both ends' simple paths; the supervisor reads and
// writes frame bodies asynchronously (pool/).
#pragma once

#include <google/protobuf/message_lite.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::worker {

// Bumped whenever worker.proto or the module ABI changes; the Hello carries it so a supervisor
// never talks to a stale worker binary.
inline constexpr std::uint32_t kWorkerAbi = 3;

inline constexpr std::size_t kFrameHeaderSize = 4;
// No frame is larger than this (requests carry at most a message-size worth of stdin and
// inline rootfs; replies at most the output limit).
inline constexpr std::uint32_t kMaxFrameSize = 1u << 30;
// At most this many descriptors are attached to one frame.
inline constexpr std::size_t kMaxFrameFds = 2;

// Header + serialized message.
std::string encode_frame(const google::protobuf::MessageLite& msg);
// The length in a 4-byte header.
std::uint32_t decode_frame_header(const char* header);

// A descriptor received with a frame; closed when destroyed unless released.
class ReceivedFd {
 public:
  explicit ReceivedFd(int fd = -1) : fd_(fd) {}
  ReceivedFd(ReceivedFd&& o) noexcept : fd_(o.release()) {}
  ReceivedFd& operator=(ReceivedFd&& o) noexcept;
  ~ReceivedFd();
  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }

 private:
  int fd_;
};

// Blocking: reads one frame body into `body`, and the descriptors attached to it into `fds` (if
// given; otherwise received descriptors are closed). Returns false on a clean EOF before the
// header; throws std::runtime_error on I/O errors, EOF inside a frame, a frame over `max_size`
// or more than kMaxFrameFds descriptors.
bool read_frame(int fd, std::string* body, std::uint32_t max_size = kMaxFrameSize,
                std::vector<ReceivedFd>* fds = nullptr);
// Blocking: writes all bytes (retrying on EINTR / short writes); throws std::runtime_error.
void write_all(int fd, std::string_view bytes);

// Sends the first `header` bytes of a frame with `fds` attached, on a socket that may be
// non-blocking: returns false if the socket cannot take them at once (EAGAIN) or failed. The
// caller writes the rest of the frame afterwards. At most kMaxFrameFds descriptors.
bool send_frame_header_with_fds(int socket, std::string_view header, std::span<const int> fds);

}  // namespace wasimoff::worker
