#include "net/webtransport/message_framing.h"

namespace wasimoff::webtransport {

void append_framed_message(std::string& out, std::string_view message) {
  std::uint64_t n = message.size();
  while (n >= 0x80) {
    out.push_back(static_cast<char>((n & 0x7f) | 0x80));
    n >>= 7;
  }
  out.push_back(static_cast<char>(n));
  out.append(message);
}

std::string frame_message(std::string_view message) {
  std::string out;
  out.reserve(message.size() + kMaxLengthPrefix);
  append_framed_message(out, message);
  return out;
}

MessageDeframer::Status MessageDeframer::feed(std::span<const std::uint8_t> data) {
  if (failed_ != Status::kOk) return failed_;
  partial_.append(reinterpret_cast<const char*>(data.data()), data.size());
  for (;;) {
    const std::size_t avail = partial_.size() - pos_;
    // Decode the prefix.
    std::uint64_t length = 0;
    std::size_t i = 0;
    bool complete = false;
    for (; i < avail && i < kMaxLengthPrefix; ++i) {
      const auto b = static_cast<std::uint8_t>(partial_[pos_ + i]);
      if (i == kMaxLengthPrefix - 1 && b > 0x01) return failed_ = Status::kBadPrefix;  // > 2^64
      length |= std::uint64_t(b & 0x7f) << (7 * i);
      if (!(b & 0x80)) {
        complete = true;
        ++i;
        break;
      }
    }
    if (!complete) {
      if (i >= kMaxLengthPrefix) return failed_ = Status::kBadPrefix;
      break;  // need more prefix bytes
    }
    if (length > max_) {
      announced_ = length;
      return failed_ = Status::kTooLarge;
    }
    if (avail - i < length) break;  // body incomplete
    messages_.push_back(partial_.substr(pos_ + i, length));
    buffered_ += length;
    pos_ += i + length;
  }
  // Compact: drop consumed bytes once they dominate the buffer.
  if (pos_ > 0 && pos_ * 2 >= partial_.size()) {
    partial_.erase(0, pos_);
    pos_ = 0;
  }
  return Status::kOk;
}

std::string MessageDeframer::pop() {
  std::string m = std::move(messages_.front());
  messages_.pop_front();
  buffered_ -= m.size();
  return m;
}

}  // namespace wasimoff::webtransport
