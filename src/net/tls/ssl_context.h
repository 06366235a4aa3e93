// OpenSSL server contexts for the TCP listener (docs/configuration.md §5.1): TLS 1.2 or newer, ALPN
// selects `http/1.1` (a client that offers ALPN without `http/1.1` gets the fatal
// no_application_protocol alert, RFC 7301 §3.2).
//
// The HTTP server asks for the context per accepted connection, from the current snapshot of
// CertificateStore, so a reload or rotation takes effect for new connections only.
// ServerSslContexts avoids rebuilding the context for every connection while the snapshot is
// unchanged.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <mutex>

#include "net/tls/certificate.h"

namespace wasimoff::tls {

// A new server context holding `pair`. Throws TlsError when OpenSSL refuses the PEM.
std::shared_ptr<boost::asio::ssl::context> make_server_ssl_context(const CertificatePair& pair);

// Caches the context of the most recent snapshot. Thread-safe.
class ServerSslContexts {
 public:
  // The context for `pair` (built on first use of this snapshot). Throws TlsError.
  std::shared_ptr<boost::asio::ssl::context> get(
      const std::shared_ptr<const CertificatePair>& pair);

 private:
  std::mutex mutex_;
  std::shared_ptr<const CertificatePair> pair_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

}  // namespace wasimoff::tls
