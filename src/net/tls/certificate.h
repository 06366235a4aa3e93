// TLS certificates for the QUIC listener and (optionally) the TCP listener
// (configuration.md §5.1, webtransport.md §4).
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wasimoff::tls {

// A certificate chain and its private key, both PEM, plus derived facts.
struct CertificatePair {
  std::string cert_pem;  // leaf first, then any intermediates
  std::string key_pem;   // the leaf's private key (PKCS#8, SEC1 EC or PKCS#1 RSA)
  std::string leaf_der;  // DER of the leaf certificate
  std::string certhash;  // lower-case hex SHA-256 of leaf_der
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
  bool ephemeral = false;  // generated in memory (certhash is published) vs loaded from files
};

// Thrown with a message a user can act on ("key does not match certificate", ...).
class TlsError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A fresh ECDSA P-256 self-signed certificate: notBefore = now − 1 h, validity 10 days, random
// positive 128-bit serial, CN=wasimoff webtransport, O=wasimoff, SAN DNS localhost, IP 127.0.0.1,
// IP ::1 plus `extra_hosts` (DNS names or IP literals), keyUsage digitalSignature,
// extendedKeyUsage serverAuth, basicConstraints CA:false.
CertificatePair generate_ephemeral_certificate(const std::vector<std::string>& extra_hosts = {});

// Loads and checks a PEM pair; throws TlsError when a file is unreadable, not PEM, or the key
// does not match the certificate.
CertificatePair load_certificate_files(const std::string& cert_path, const std::string& key_path);

}  // namespace wasimoff::tls
