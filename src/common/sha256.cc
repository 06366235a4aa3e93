#include "common/sha256.h"

#include <gnutls/crypto.h>

#include <stdexcept>

#include "common/strings.h"

namespace wasimoff {

Sha256::Sha256() : state_(nullptr) {
  gnutls_hash_hd_t h;
  if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) throw std::runtime_error("sha256 init failed");
  state_ = h;
}

Sha256::~Sha256() {
  if (state_) gnutls_hash_deinit(static_cast<gnutls_hash_hd_t>(state_), nullptr);
}

void Sha256::update(std::string_view bytes) {
  if (!bytes.empty()) gnutls_hash(static_cast<gnutls_hash_hd_t>(state_), bytes.data(), bytes.size());
}

std::array<std::uint8_t, 32> Sha256::digest() {
  std::array<std::uint8_t, 32> out{};
  gnutls_hash_output(static_cast<gnutls_hash_hd_t>(state_), out.data());
  return out;
}

std::string Sha256::hex_digest() {
  auto d = digest();
  return hex_encode(std::string_view(reinterpret_cast<const char*>(d.data()), d.size()));
}

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.digest();
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.update(bytes);
  return h.hex_digest();
}

}  // namespace wasimoff
