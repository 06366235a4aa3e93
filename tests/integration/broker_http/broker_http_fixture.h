// Shared helpers of the Broker HTTP integration tests: test file contents, storage uploads,
// certificate generation with the openssl CLI, TLS peer inspection, and starting the broker with
// a chosen working directory (for .env / config.env tests).
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "broker_process.h"
#include "http_connection.h"
#include "process.h"
#include "sync_http.h"

namespace wasimoff::testing::broker_http {

using Env = std::map<std::string, std::string>;

// A minimal valid WebAssembly module (header only) followed by `padding` custom-section-free
// bytes; the broker only sniffs the magic, so any tail makes a distinct file.
std::string wasm_bytes(const std::string& tail = "");
// A ZIP archive with a single stored file, and the 22-byte empty archive (PK\5\6).
std::string zip_bytes(const std::string& name = "hello.txt", const std::string& content = "hi\n");
std::string empty_zip_bytes();

// "sha256:<64 hex>" of `bytes`.
std::string ref_of(const std::string& bytes);
// Lower-case hex SHA-256.
std::string sha256_hex_of(const std::string& bytes);
bool is_lower_hex64(const std::string& text);

// POST /api/storage/upload[?name=alias]; returns the response.
http::ClientResponse upload(const BrokerProcess& broker, const std::string& bytes,
                            const std::string& alias = "", const http::Headers& headers = {});

// Builds a header list: hdrs({{"Origin", "http://x"}, {"Range", "bytes=0-1"}}).
http::Headers hdrs(std::initializer_list<std::pair<std::string, std::string>> list);

// Header value or "" when absent (first value).
std::string header(const http::ClientResponse& r, const std::string& name);

// A self-signed certificate + key written as PEM files by the openssl CLI.
struct PemPair {
  std::string cert;
  std::string key;
};
// `name` is used for the file names inside `dir` and as the certificate's CN.
PemPair make_certificate(const TempDir& dir, const std::string& name);

// A TLS handshake with 127.0.0.1:port (no verification): SHA-256 (lower-case hex) over the DER
// certificate the server presents and the negotiated ALPN protocol ("" when none). `alpn` is
// the client's offer in wire format ("\x08http/1.1"), "" = no ALPN extension. Throws
// std::runtime_error when the handshake fails.
struct TlsPeer {
  std::string cert_sha256;
  std::string alpn;
};
TlsPeer tls_handshake(std::uint16_t port, const std::string& alpn = "");
inline std::string served_certificate_sha256(std::uint16_t port) {
  return tls_handshake(port).cert_sha256;
}
// SHA-256 of the DER form of the first certificate in a PEM file.
std::string pem_certificate_sha256(const std::string& pem_path);

// One HTTP/3 GET to the broker's QUIC listener on 127.0.0.1:quic_port, accepting only a server
// certificate whose SHA-256 is `certhash`. Returns status and body; throws std::runtime_error
// when the handshake fails (e.g. a different certificate) or the request times out.
std::pair<unsigned, std::string> h3_get(std::uint16_t quic_port, const std::string& certhash,
                                        const std::string& target);

// Runs the broker binary to completion (for --help, configuration errors, …).
struct RunResult {
  int status = -1;
  std::string out;
  std::string err;
};
RunResult run_broker(std::vector<std::string> args, std::map<std::string, std::string> env,
                     const std::string& cwd = "",
                     std::chrono::milliseconds timeout = std::chrono::seconds(20));

// The broker started in `cwd` without BrokerProcess' default variables except the two listen
// addresses (so .env / config.env can set everything else). Waits for /healthz.
class BrokerInDir {
 public:
  BrokerInDir(const std::string& cwd, std::map<std::string, std::string> env);
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const;
  ChildProcess& process() { return *process_; }

 private:
  std::uint16_t port_;
  std::unique_ptr<ChildProcess> process_;
};

}  // namespace wasimoff::testing::broker_http
