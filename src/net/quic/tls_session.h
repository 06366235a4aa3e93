// GnuTLS for QUIC (TLS 1.3 only, ALPN mandatory): server credentials built from a
// tls::CertificatePair, client credentials that verify the server either by a pinned `certhash`
// (SHA-256 of the DER leaf, as browsers' serverCertificateHashes) or against a CA file / the
// system trust store.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>
#include <string_view>

#include "net/tls/certificate.h"

namespace wasimoff::quic {

// Credentials for one certificate pair. Connections keep a shared_ptr to the credentials they
// were accepted with, so a certificate rotation never disturbs a live connection.
class ServerCredentials {
 public:
  // Throws std::runtime_error when GnuTLS rejects the PEM pair.
  explicit ServerCredentials(std::shared_ptr<const tls::CertificatePair> pair);
  ~ServerCredentials();
  ServerCredentials(const ServerCredentials&) = delete;
  ServerCredentials& operator=(const ServerCredentials&) = delete;

  gnutls_certificate_credentials_t get() const { return creds_; }
  const std::shared_ptr<const tls::CertificatePair>& pair() const { return pair_; }

 private:
  std::shared_ptr<const tls::CertificatePair> pair_;
  gnutls_certificate_credentials_t creds_ = nullptr;
};

// How a client checks the server certificate.
struct ServerVerification {
  std::string certhash;     // hex SHA-256 of the DER leaf (either case, ':' allowed); wins if set
  std::string ca_file;      // PEM bundle; "" = system trust store
  std::string server_name;  // SNI and the name checked against the certificate
};

class ClientCredentials {
 public:
  // Throws std::runtime_error when the CA file cannot be loaded.
  explicit ClientCredentials(const ServerVerification& verification);
  ~ClientCredentials();
  ClientCredentials(const ClientCredentials&) = delete;
  ClientCredentials& operator=(const ClientCredentials&) = delete;

  gnutls_certificate_credentials_t get() const { return creds_; }

 private:
  gnutls_certificate_credentials_t creds_ = nullptr;
};

// New sessions configured for QUIC via ngtcp2's GnuTLS glue. The caller owns the session
// (gnutls_deinit) and must set the ngtcp2_crypto_conn_ref with gnutls_session_set_ptr.
// Throw std::runtime_error on failure.
gnutls_session_t new_server_session(const ServerCredentials& creds, std::string_view alpn);
gnutls_session_t new_client_session(const ClientCredentials& creds, const std::string& server_name,
                                    std::string_view alpn);

// Checks the peer certificate of a client session during the handshake. Returns "" when
// accepted, else a message for the user ("certificate hash mismatch: server presented …").
std::string verify_server_certificate(gnutls_session_t session, const ServerVerification& v);

}  // namespace wasimoff::quic
