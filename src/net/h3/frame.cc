#include "net/h3/frame.h"

#include <algorithm>

#include "net/h3/varint.h"

namespace wasimoff::h3 {

bool frame::is_http2_only(std::uint64_t type) {
  return type == 0x02 || type == 0x06 || type == 0x08 || type == 0x09;
}

void append_frame_header(std::string& out, std::uint64_t type, std::uint64_t payload_length) {
  append_varint(out, type);
  append_varint(out, payload_length);
}

std::string encode_frame(std::uint64_t type, std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 16);
  append_frame_header(out, type, payload.size());
  out.append(payload);
  return out;
}

std::string encode_goaway(std::uint64_t id) {
  std::string payload;
  append_varint(payload, id);
  return encode_frame(frame::kGoaway, payload);
}

bool FrameReader::buffered_type(std::uint64_t type) const {
  switch (type) {
    case frame::kHeaders:
    case frame::kCancelPush:
    case frame::kSettings:
    case frame::kPushPromise:
    case frame::kGoaway:
    case frame::kMaxPushId:
      return true;
    default:
      return frame::is_http2_only(type);
  }
}

FrameReader::Result FrameReader::feed(std::span<const std::uint8_t> input,
                                      const Callbacks& callbacks) {
  while (!input.empty()) {
    switch (state_) {
      case State::kHeader: {
        // Collect up to 16 header bytes, then try to decode type and length.
        const std::size_t take = std::min<std::size_t>(16 - header_.size(), input.size());
        const std::size_t before = header_.size();
        header_.append(reinterpret_cast<const char*>(input.data()), take);
        std::span<const std::uint8_t> h(reinterpret_cast<const std::uint8_t*>(header_.data()),
                                        header_.size());
        auto type = decode_varint(h);
        std::optional<Varint> length;
        if (type) length = decode_varint(h.subspan(type->length));
        if (!type || !length) {
          input = input.subspan(take);
          continue;
        }
        const std::size_t used = type->length + length->length;
        input = input.subspan(used - before);  // bytes of this header taken from the input
        header_.clear();
        type_ = type->value;
        length_ = remaining_ = length->value;
        if (type_ == frame::kData) {
          state_ = State::kData;
        } else if (buffered_type(type_)) {
          if (length_ > max_payload_) return Result::kFrameTooLarge;
          payload_.clear();
          payload_.reserve(length_);
          state_ = State::kBuffer;
        } else {
          state_ = State::kSkip;
        }
        if (remaining_ == 0) {
          state_ = State::kHeader;
          if (type_ != frame::kData && buffered_type(type_)) {
            if (!callbacks.on_frame(type_, {})) return Result::kStopped;
          }
        }
        break;
      }
      case State::kBuffer: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
        payload_.append(reinterpret_cast<const char*>(input.data()), take);
        input = input.subspan(take);
        remaining_ -= take;
        if (remaining_ == 0) {
          state_ = State::kHeader;
          std::string payload = std::move(payload_);
          payload_.clear();
          if (!callbacks.on_frame(type_, payload)) return Result::kStopped;
        }
        break;
      }
      case State::kData: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
        auto chunk = input.first(take);
        input = input.subspan(take);
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kHeader;
        if (!callbacks.on_data(chunk)) return Result::kStopped;
        break;
      }
      case State::kSkip: {
        const auto take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
        input = input.subspan(take);
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kHeader;
        break;
      }
    }
  }
  return Result::kOk;
}

}  // namespace wasimoff::h3
