#include "net/quic/tls_session.h"

#include <arpa/inet.h>
#include <gnutls/x509.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <stdexcept>

#include "common/sha256.h"
#include "common/strings.h"

namespace wasimoff::quic {
namespace {

constexpr const char* kPriority =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "+AES-128-CCM:-GROUP-ALL:+GROUP-SECP256R1:+GROUP-X25519:+GROUP-SECP384R1:+GROUP-SECP521R1:"
    "%DISABLE_TLS13_COMPAT_MODE";

[[noreturn]] void fail(const std::string& what, int rv) {
  throw std::runtime_error(what + ": " + gnutls_strerror(rv));
}

void configure_common(gnutls_session_t s, gnutls_certificate_credentials_t creds,
                      std::string_view alpn) {
  int rv = gnutls_priority_set_direct(s, kPriority, nullptr);
  if (rv != 0) fail("TLS priority", rv);
  rv = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds);
  if (rv != 0) fail("TLS credentials", rv);
  gnutls_datum_t proto{reinterpret_cast<unsigned char*>(const_cast<char*>(alpn.data())),
                       static_cast<unsigned>(alpn.size())};
  rv = gnutls_alpn_set_protocols(s, &proto, 1, GNUTLS_ALPN_MANDATORY);
  if (rv != 0) fail("TLS ALPN", rv);
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

ServerCredentials::ServerCredentials(std::shared_ptr<const tls::CertificatePair> pair)
    : pair_(std::move(pair)) {
  if (!pair_) throw std::runtime_error("QUIC: no certificate configured");
  int rv = gnutls_certificate_allocate_credentials(&creds_);
  if (rv != 0) fail("TLS credentials", rv);
  gnutls_datum_t cert{reinterpret_cast<unsigned char*>(const_cast<char*>(pair_->cert_pem.data())),
                      static_cast<unsigned>(pair_->cert_pem.size())};
  gnutls_datum_t key{reinterpret_cast<unsigned char*>(const_cast<char*>(pair_->key_pem.data())),
                     static_cast<unsigned>(pair_->key_pem.size())};
  rv = gnutls_certificate_set_x509_key_mem2(creds_, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  if (rv < 0) {
    gnutls_certificate_free_credentials(creds_);
    fail("QUIC certificate rejected by GnuTLS", rv);
  }
}

ServerCredentials::~ServerCredentials() {
  gnutls_certificate_free_credentials(creds_);
}

ClientCredentials::ClientCredentials(const ServerVerification& v) {
  int rv = gnutls_certificate_allocate_credentials(&creds_);
  if (rv != 0) fail("TLS credentials", rv);
  if (v.certhash.empty()) {
    rv = v.ca_file.empty() ? gnutls_certificate_set_x509_system_trust(creds_)
                           : gnutls_certificate_set_x509_trust_file(creds_, v.ca_file.c_str(),
                                                                    GNUTLS_X509_FMT_PEM);
    if (rv <= 0) {
      gnutls_certificate_free_credentials(creds_);
      if (v.ca_file.empty()) throw std::runtime_error("no system trust store available");
      throw std::runtime_error("cannot load CA file " + v.ca_file + ": " +
                               (rv == 0 ? "no certificates in it" : gnutls_strerror(rv)));
    }
  }
}

ClientCredentials::~ClientCredentials() {
  gnutls_certificate_free_credentials(creds_);
}

gnutls_session_t new_server_session(const ServerCredentials& creds, std::string_view alpn) {
  gnutls_session_t s = nullptr;
  int rv =
      gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NO_AUTO_SEND_TICKET | GNUTLS_NO_END_OF_EARLY_DATA);
  if (rv != 0) fail("TLS session", rv);
  try {
    if (ngtcp2_crypto_gnutls_configure_server_session(s) != 0)
      throw std::runtime_error("ngtcp2_crypto_gnutls_configure_server_session failed");
    configure_common(s, creds.get(), alpn);
  } catch (...) {
    gnutls_deinit(s);
    throw;
  }
  return s;
}

gnutls_session_t new_client_session(const ClientCredentials& creds, const std::string& server_name,
                                    std::string_view alpn) {
  gnutls_session_t s = nullptr;
  int rv = gnutls_init(&s, GNUTLS_CLIENT | GNUTLS_NO_END_OF_EARLY_DATA);
  if (rv != 0) fail("TLS session", rv);
  try {
    if (ngtcp2_crypto_gnutls_configure_client_session(s) != 0)
      throw std::runtime_error("ngtcp2_crypto_gnutls_configure_client_session failed");
    configure_common(s, creds.get(), alpn);
    if (!server_name.empty() && !is_ip_literal(server_name)) {
      rv = gnutls_server_name_set(s, GNUTLS_NAME_DNS, server_name.data(), server_name.size());
      if (rv != 0) fail("TLS server name", rv);
    }
  } catch (...) {
    gnutls_deinit(s);
    throw;
  }
  return s;
}

std::string verify_server_certificate(gnutls_session_t session, const ServerVerification& v) {
  unsigned count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  if (!certs || count == 0) return "server presented no certificate";
  if (!v.certhash.empty()) {
    std::string want;
    for (char c : v.certhash)
      if (c != ':') want.push_back(c);
    want = to_lower(want);
    const auto got =
        sha256_hex(std::string_view(reinterpret_cast<const char*>(certs[0].data), certs[0].size));
    if (got != want)
      return "certificate hash mismatch: server presented sha-256 " + got + ", expected " + want;
    return "";
  }
  unsigned status = 0;
  const char* host = v.server_name.empty() ? nullptr : v.server_name.c_str();
  int rv = gnutls_certificate_verify_peers3(session, host, &status);
  if (rv != 0) return std::string("certificate verification failed: ") + gnutls_strerror(rv);
  if (status != 0) {
    gnutls_datum_t out{};
    std::string msg = "server certificate not trusted";
    if (gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &out, 0) == 0) {
      msg += ": " + std::string(reinterpret_cast<const char*>(out.data), out.size);
      gnutls_free(out.data);
    }
    return msg;
  }
  return "";
}

}  // namespace wasimoff::quic
