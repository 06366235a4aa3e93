// TLS certificates for the QUIC listener and (optionally) the TCP listener
// (docs/configuration.md §5.1, docs/webtransport.md §4).
#pragma once

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace wasimoff::tls {

// A certificate chain and its private key, both PEM, plus derived facts.
// Pairs produced by this module hold clean PEM: only CERTIFICATE blocks in cert_pem and the key
// re-encoded as unencrypted PKCS#8 ("PRIVATE KEY") in key_pem, whatever the input format was, so
// both OpenSSL and GnuTLS consumers can load them.
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
// part() says which input the problem is in, so configuration errors can name the variable:
// an unreadable / non-PEM certificate file → certificate; an unreadable / non-PEM / encrypted /
// non-matching key → key.
class TlsError : public std::runtime_error {
 public:
  enum class Part { none, certificate, key };
  using std::runtime_error::runtime_error;
  TlsError(const std::string& what, Part part) : std::runtime_error(what), part_(part) {}
  Part part() const { return part_; }

 private:
  Part part_ = Part::none;
};

// A fresh ECDSA P-256 self-signed certificate: notBefore = now − 1 h, validity 10 days, random
// positive 128-bit serial, CN=wasimoff webtransport, O=wasimoff, SAN DNS localhost, IP 127.0.0.1,
// IP ::1 plus `extra_hosts` (DNS names or IP literals), keyUsage digitalSignature,
// extendedKeyUsage serverAuth, basicConstraints CA:false.
// Throws TlsError for an extra host that is neither a DNS name (letters, digits, '-', '.', '_',
// a leading "*.") nor an IP literal (IPv6 with or without brackets). Duplicates (also of the
// built-in names) are listed once. Takes about a millisecond (key generation and signing).
CertificatePair generate_ephemeral_certificate(const std::vector<std::string>& extra_hosts = {});

// Loads and checks a PEM pair; throws TlsError when a file is unreadable, not PEM, or the key
// does not match the certificate. The certificate file may hold intermediates after the leaf
// (other PEM blocks are skipped); the key may be PKCS#8, SEC1 EC or PKCS#1 RSA, unencrypted.
// Files larger than 1 MiB are refused. Blocking (file I/O): call at startup or off the loop.
CertificatePair load_certificate_files(const std::string& cert_path, const std::string& key_path);

// The same checks on PEM text already in memory (`*_name` only appears in error messages).
CertificatePair load_certificate_pem(std::string_view cert_pem, std::string_view key_pem,
                                     const std::string& cert_name = "the certificate",
                                     const std::string& key_name = "the private key");

}  // namespace wasimoff::tls
