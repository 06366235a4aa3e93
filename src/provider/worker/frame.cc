#include "provider/worker/frame.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace wasimoff::worker {

std::string encode_frame(const google::protobuf::MessageLite& msg) {
  std::size_t size = msg.ByteSizeLong();
  if (size > kMaxFrameSize) throw std::length_error("worker message too large");
  std::string out(kFrameHeaderSize + size, '\0');
  for (std::size_t i = 0; i < kFrameHeaderSize; ++i)
    out[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  msg.SerializeWithCachedSizesToArray(
      reinterpret_cast<std::uint8_t*>(out.data() + kFrameHeaderSize));
  return out;
}

std::uint32_t decode_frame_header(const char* header) {
  std::uint32_t n = 0;
  for (std::size_t i = 0; i < kFrameHeaderSize; ++i)
    n |= static_cast<std::uint32_t>(static_cast<unsigned char>(header[i])) << (8 * i);
  return n;
}

ReceivedFd& ReceivedFd::operator=(ReceivedFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

ReceivedFd::~ReceivedFd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// Reads up to n bytes with recvmsg, collecting attached descriptors into `fds` (closing them when
// `fds` is null). Returns the bytes read; 0 at EOF.
std::size_t receive(int fd, char* out, std::size_t n, std::vector<ReceivedFd>* fds) {
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFrameFds)];
  for (;;) {
    iovec iov{out, n};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t r = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "worker channel read");
    }
    std::vector<ReceivedFd> got;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int received;
        std::memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        got.emplace_back(received);
      }
    }
    if (msg.msg_flags & MSG_CTRUNC)
      throw std::runtime_error("worker channel: too many descriptors");
    if (fds) {
      for (auto& g : got) fds->push_back(std::move(g));
      if (fds->size() > kMaxFrameFds)
        throw std::runtime_error("worker channel: too many descriptors");
    }
    return static_cast<std::size_t>(r);
  }
}

// Reads exactly n bytes; returns the number read before EOF (< n only at EOF).
std::size_t read_full(int fd, char* out, std::size_t n, std::vector<ReceivedFd>* fds) {
  std::size_t got = 0;
  while (got < n) {
    std::size_t r = receive(fd, out + got, n - got, fds);
    if (r == 0) break;
    got += r;
  }
  return got;
}

}  // namespace

bool read_frame(int fd, std::string* body, std::uint32_t max_size, std::vector<ReceivedFd>* fds) {
  char header[kFrameHeaderSize];
  std::size_t got = read_full(fd, header, sizeof header, fds);
  if (got == 0) return false;
  if (got < sizeof header) throw std::runtime_error("worker channel: EOF inside a frame header");
  std::uint32_t size = decode_frame_header(header);
  if (size > max_size) throw std::runtime_error("worker channel: frame too large");
  body->resize(size);
  // Descriptors come with the header only; any on the body would be a protocol error, and
  // receive() closes them when `fds` is null.
  if (read_full(fd, body->data(), size, nullptr) < size)
    throw std::runtime_error("worker channel: EOF inside a frame");
  return true;
}

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t r = ::write(fd, bytes.data(), bytes.size());
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "worker channel write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(r));
  }
}

bool send_frame_header_with_fds(int socket, std::string_view header, std::span<const int> fds) {
  if (fds.size() > kMaxFrameFds || header.empty()) return false;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFrameFds)] = {};
  iovec iov{const_cast<char*>(header.data()), header.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t r;
  do {
    r = ::sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  // A partial send of a few header bytes on an idle socket does not happen in practice; treat
  // it like a failure rather than tracking a partially sent header.
  return r == static_cast<ssize_t>(header.size());
}

}  // namespace wasimoff::worker
