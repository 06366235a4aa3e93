// Chunker: splits a fuzz input into deliveries of input-chosen sizes, for parsers that consume a
// stream incrementally (HTTP/3 frames, capsules, message framing).
#pragma once

namespace wasimoff::fuzz {

// Deterministic chunk sizes taken from the input: `seed` (one input byte) picks both the largest
// chunk (1 + seed, so 0 means byte-by-byte delivery) and the sequence of sizes, so libFuzzer can
// explore how a parser behaves when its input arrives split at arbitrary points.
class Chunker {
 public:
  explicit Chunker(unsigned char seed) : state_(seed * 2654435761u + 1), max_(1u + seed) {}
  unsigned next() {
    state_ = state_ * 1103515245u + 12345u;
    return 1 + (state_ >> 8) % max_;
  }

 private:
  unsigned state_;
  unsigned max_;
};

}  // namespace wasimoff::fuzz
