#include "provider/worker/frame.h"

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

namespace {

// Reads exactly n bytes; returns the number read before EOF (< n only at EOF).
std::size_t read_full(int fd, char* out, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = ::read(fd, out + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "worker channel read");
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return got;
}

}  // namespace

bool read_frame(int fd, std::string* body, std::uint32_t max_size) {
  char header[kFrameHeaderSize];
  std::size_t got = read_full(fd, header, sizeof header);
  if (got == 0) return false;
  if (got < sizeof header) throw std::runtime_error("worker channel: EOF inside a frame header");
  std::uint32_t size = decode_frame_header(header);
  if (size > max_size) throw std::runtime_error("worker channel: frame too large");
  body->resize(size);
  if (read_full(fd, body->data(), size) < size)
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

}  // namespace wasimoff::worker
