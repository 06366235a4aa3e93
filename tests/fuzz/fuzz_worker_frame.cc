// fuzz_worker_frame: the framing of the provider <-> worker socketpair (provider/worker/frame.h)
// on untrusted bytes. The supervisor trusts nothing a worker sends (the worker runs client code),
// and the worker reads what its supervisor sends with the same read_frame.
//
// Input: byte 0 picks the frame size limit (16 << (byte % 9), 16 B to 4 KiB), the rest is written
// into one end of a SOCK_STREAM socketpair, which is then shut down for writing. read_frame reads
// the other end until it returns false (clean EOF) or throws. Checks, for every input:
//  * read_frame returns exactly the frames of a reference splitter (4-byte little-endian length,
//    then that many bytes), and ends the way it should: false at a clean end, std::runtime_error
//    for a cut header, a cut body or a frame over the limit; nothing else is thrown;
//  * every frame body that parses as a Hello, RunRequest or RunReply re-encodes (encode_frame)
//    to a header whose decode_frame_header is the message's size, followed by the message.
#include <google/protobuf/stubs/logging.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.h"
#include "provider/worker/frame.h"
#include "provider/worker/worker.pb.h"

namespace {

using namespace wasimoff::worker;

enum class End { kClean, kError };

// The reference: frames of `in` under `max`, and how the stream ends.
End split(std::string_view in, std::uint32_t max, std::vector<std::string>* frames) {
  while (!in.empty()) {
    if (in.size() < kFrameHeaderSize) return End::kError;
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < kFrameHeaderSize; ++i)
      n |= std::uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
    in.remove_prefix(kFrameHeaderSize);
    if (n > max || n > in.size()) return End::kError;
    frames->emplace_back(in.substr(0, n));
    in.remove_prefix(n);
  }
  return End::kClean;
}

template <typename M>
void check_reencode(const std::string& body) {
  M msg;
  if (!msg.ParseFromString(body)) return;
  const std::string framed = encode_frame(msg);
  FUZZ_CHECK(framed.size() >= kFrameHeaderSize, "encoded frame without a header");
  FUZZ_CHECK(decode_frame_header(framed.data()) == msg.ByteSizeLong(),
             "header length differs from the message size");
  FUZZ_CHECK(framed.substr(kFrameHeaderSize) == msg.SerializeAsString(),
             "frame body differs from the serialized message");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // libprotobuf logs every string field with invalid UTF-8; that is not a finding.
  static const bool quiet = [] {
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size < 1) return 0;
  // The socket buffer must hold the whole input, since nothing reads while we write.
  if (size > 64 * 1024) return 0;
  const std::uint32_t max = 16u << (data[0] % 9);
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);

  std::vector<std::string> expected;
  const End expected_end = split(input, max, &expected);

  int sv[2];
  FUZZ_CHECK(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair failed");
  write_all(sv[0], input);
  ::shutdown(sv[0], SHUT_WR);

  std::vector<std::string> got;
  End end = End::kClean;
  try {
    std::string body;
    while (read_frame(sv[1], &body, max)) got.push_back(body);
  } catch (const std::runtime_error&) {
    end = End::kError;
  }
  ::close(sv[0]);
  ::close(sv[1]);

  FUZZ_CHECK(end == expected_end, "read_frame ended differently from the reference");
  FUZZ_CHECK(got == expected, "read_frame returned other frames than the reference");
  for (const auto& body : got) {
    check_reencode<Hello>(body);
    check_reencode<RunRequest>(body);
    check_reencode<RunReply>(body);
  }
  return 0;
}
