#include "net/tls/ssl_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/buffer.hpp>
#include <boost/system/system_error.hpp>

namespace wasimoff::tls {

namespace {

// ALPN wire format: length-prefixed protocol names.
constexpr unsigned char kAlpnHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, kAlpnHttp11, sizeof kAlpnHttp11, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace

std::shared_ptr<boost::asio::ssl::context> make_server_ssl_context(const CertificatePair& pair) {
  namespace ssl = boost::asio::ssl;
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                     ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                     ssl::context::no_compression | ssl::context::single_dh_use);
    SSL_CTX* native = ctx->native_handle();
    if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
      throw TlsError("cannot restrict TLS to version 1.2 or newer");
    SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    ctx->use_certificate_chain(boost::asio::buffer(pair.cert_pem));
    ctx->use_private_key(boost::asio::buffer(pair.key_pem), ssl::context::pem);
    if (SSL_CTX_check_private_key(native) != 1)
      throw TlsError("the private key does not match the certificate", TlsError::Part::key);
    SSL_CTX_set_alpn_select_cb(native, select_alpn, nullptr);
    return ctx;
  } catch (const boost::system::system_error& e) {
    ERR_clear_error();
    throw TlsError(std::string("cannot build the TLS server context: ") + e.what());
  }
}

std::shared_ptr<boost::asio::ssl::context> ServerSslContexts::get(
    const std::shared_ptr<const CertificatePair>& pair) {
  if (!pair) throw TlsError("no certificate for the TLS listener");
  std::lock_guard lock(mutex_);
  if (pair_ != pair) {
    context_ = make_server_ssl_context(*pair);
    pair_ = pair;
  }
  return context_;
}

}  // namespace wasimoff::tls
