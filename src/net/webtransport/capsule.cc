#include "net/webtransport/capsule.h"

#include <algorithm>

#include "common/strings.h"
#include "net/h3/varint.h"
#include "net/webtransport/draft.h"

namespace wasimoff::webtransport {

std::string encode_capsule(std::uint64_t type, std::string_view value) {
  std::string out;
  h3::append_varint(out, type);
  h3::append_varint(out, value.size());
  out.append(value);
  return out;
}

std::string encode_close_capsule(std::uint32_t code, std::string_view reason) {
  std::string value;
  for (int shift = 24; shift >= 0; shift -= 8) value.push_back(static_cast<char>(code >> shift));
  value.append(truncate_utf8(reason, kMaxCloseReason));
  return encode_capsule(draft::kCapsuleCloseSession, value);
}

std::string encode_drain_capsule() {
  return encode_capsule(draft::kCapsuleDrainSession, {});
}

std::optional<CloseInfo> parse_close_value(std::string_view value) {
  if (value.size() < 4 || value.size() - 4 > kMaxCloseReason) return std::nullopt;
  CloseInfo info;
  for (int i = 0; i < 4; ++i) info.code = (info.code << 8) | static_cast<std::uint8_t>(value[i]);
  info.reason = std::string(value.substr(4));
  return info;
}

CapsuleReader::Result CapsuleReader::feed(std::span<const std::uint8_t> data,
                                          const std::function<void(Capsule)>& on_capsule) {
  while (!data.empty()) {
    if (state_ == State::kHeader) {
      const std::size_t take = std::min<std::size_t>(16 - header_.size(), data.size());
      const std::size_t before = header_.size();
      header_.append(reinterpret_cast<const char*>(data.data()), take);
      std::span<const std::uint8_t> h(reinterpret_cast<const std::uint8_t*>(header_.data()),
                                      header_.size());
      auto type = h3::decode_varint(h);
      std::optional<h3::Varint> length;
      if (type) length = h3::decode_varint(h.subspan(type->length));
      if (!type || !length) {
        data = data.subspan(take);
        continue;
      }
      data = data.subspan(type->length + length->length - before);
      header_.clear();
      type_ = type->value;
      remaining_ = length->value;
      const bool known =
          type_ == draft::kCapsuleCloseSession || type_ == draft::kCapsuleDrainSession;
      if (known && remaining_ > max_) return Result::kTooLarge;
      state_ = known ? State::kValue : State::kSkip;
      value_.clear();
      if (remaining_ == 0) {
        state_ = State::kHeader;
        if (known) on_capsule(Capsule{type_, {}});
      }
      continue;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, data.size()));
    if (state_ == State::kValue) value_.append(reinterpret_cast<const char*>(data.data()), take);
    data = data.subspan(take);
    remaining_ -= take;
    if (remaining_ == 0) {
      const bool deliver = state_ == State::kValue;
      state_ = State::kHeader;
      if (deliver) on_capsule(Capsule{type_, std::move(value_)});
      value_.clear();
    }
  }
  return Result::kOk;
}

}  // namespace wasimoff::webtransport
