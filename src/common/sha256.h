// SHA-256 (GnuTLS/nettle underneath). Used for content addresses and certificate hashes.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace wasimoff {

// Incremental hasher: update() any number of times, then digest() once.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  std::array<std::uint8_t, 32> digest();  // finishes; the object must not be updated afterwards
  std::string hex_digest();               // lower-case hex of digest()

 private:
  void* state_;
};

// One-shot helpers.
std::array<std::uint8_t, 32> sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);

}  // namespace wasimoff
