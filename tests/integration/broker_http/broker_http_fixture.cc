#include "broker_http_fixture.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/crc.hpp>
#include <csignal>
#include <stdexcept>
#include <thread>

#include "common/sha256.h"
#include "net/h3/client_connection.h"
#include "net/webtransport/draft.h"

extern char** environ;

namespace wasimoff::testing::broker_http {

namespace {

void put16(std::string& out, std::uint16_t v) {
  out.push_back(static_cast<char>(v & 0xff));
  out.push_back(static_cast<char>(v >> 8));
}
void put32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string der_sha256(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) throw std::runtime_error("i2d_X509 failed");
  std::string bytes(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return sha256_hex(bytes);
}

// The parent's environment without WASIMOFF_* variables (a developer's shell must not change
// what the configuration tests observe).
std::map<std::string, std::string> environment_without_wasimoff() {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq == std::string::npos || kv.rfind("WASIMOFF_", 0) == 0) continue;
    env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

}  // namespace

std::string wasm_bytes(const std::string& tail) {
  return std::string("\0asm\x01\0\0\0", 8) + tail;
}

std::string zip_bytes(const std::string& name, const std::string& content) {
  boost::crc_32_type crc;
  crc.process_bytes(content.data(), content.size());
  const auto sum = static_cast<std::uint32_t>(crc.checksum());
  const auto size = static_cast<std::uint32_t>(content.size());
  const auto name_len = static_cast<std::uint16_t>(name.size());
  std::string out;
  put32(out, 0x04034b50);  // local file header
  put16(out, 20);
  put16(out, 0);
  put16(out, 0);  // stored
  put16(out, 0);
  put16(out, 0x21);  // 1980-01-01
  put32(out, sum);
  put32(out, size);
  put32(out, size);
  put16(out, name_len);
  put16(out, 0);
  out += name + content;
  const auto cd_offset = static_cast<std::uint32_t>(out.size());
  put32(out, 0x02014b50);  // central directory
  put16(out, 20);
  put16(out, 20);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0x21);
  put32(out, sum);
  put32(out, size);
  put32(out, size);
  put16(out, name_len);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put16(out, 0);
  put32(out, 0);
  put32(out, 0);  // local header offset
  out += name;
  const auto cd_size = static_cast<std::uint32_t>(out.size()) - cd_offset;
  put32(out, 0x06054b50);  // end of central directory
  put16(out, 0);
  put16(out, 0);
  put16(out, 1);
  put16(out, 1);
  put32(out, cd_size);
  put32(out, cd_offset);
  put16(out, 0);
  return out;
}

std::string empty_zip_bytes() {
  std::string out;
  put32(out, 0x06054b50);
  out.append(18, '\0');
  return out;
}

std::string sha256_hex_of(const std::string& bytes) {
  return sha256_hex(bytes);
}
std::string ref_of(const std::string& bytes) {
  return "sha256:" + sha256_hex(bytes);
}

bool is_lower_hex64(const std::string& text) {
  if (text.size() != 64) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

http::ClientResponse upload(const BrokerProcess& broker, const std::string& bytes,
                            const std::string& alias, const http::Headers& headers) {
  std::string target = "/api/storage/upload";
  if (!alias.empty()) target += "?name=" + alias;
  return http_request("POST", broker.url(target), headers, bytes);
}

http::Headers hdrs(std::initializer_list<std::pair<std::string, std::string>> list) {
  http::Headers out;
  for (const auto& [name, value] : list) out.add(name, value);
  return out;
}

std::string header(const http::ClientResponse& r, const std::string& name) {
  auto v = r.headers.get(name);
  return v ? std::string(*v) : std::string();
}

PemPair make_certificate(const TempDir& dir, const std::string& name) {
  PemPair pair{dir.file(name + ".crt"), dir.file(name + ".key")};
  ChildProcess openssl(
      {{"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", pair.key, "-out", pair.cert, "-days",
        "2", "-subj", "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"},
       {},
       true,
       "",
       ""});
  auto status = openssl.wait(std::chrono::seconds(30));
  if (status != 0)
    throw std::runtime_error("openssl req failed (" + std::to_string(status.value_or(-1)) +
                             "): " + openssl.stderr_text());
  return pair;
}

std::string pem_certificate_sha256(const std::string& pem_path) {
  BIO* bio = BIO_new_file(pem_path.c_str(), "r");
  if (!bio) throw std::runtime_error("cannot open " + pem_path);
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) throw std::runtime_error("no certificate in " + pem_path);
  auto hash = der_sha256(cert);
  X509_free(cert);
  return hash;
}

TlsPeer tls_handshake(std::uint16_t port, const std::string& alpn) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    throw std::runtime_error("connect to TLS port failed");
  }
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, "localhost");
  if (!alpn.empty())
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(alpn.data()),
                        static_cast<unsigned>(alpn.size()));
  TlsPeer result;
  std::string error;
  if (SSL_connect(ssl) == 1) {
    const unsigned char* selected = nullptr;
    unsigned selected_len = 0;
    SSL_get0_alpn_selected(ssl, &selected, &selected_len);
    if (selected) result.alpn.assign(reinterpret_cast<const char*>(selected), selected_len);
    if (X509* cert = SSL_get1_peer_certificate(ssl)) {
      result.cert_sha256 = der_sha256(cert);
      X509_free(cert);
    } else {
      error = "server sent no certificate";
    }
    SSL_shutdown(ssl);
  } else {
    char buf[256];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    error = std::string("TLS handshake failed: ") + buf;
  }
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  if (!error.empty()) throw std::runtime_error(error);
  return result;
}

std::pair<unsigned, std::string> h3_get(std::uint16_t quic_port, const std::string& certhash,
                                        const std::string& target) {
  boost::asio::io_context io;
  quic::ClientOptions options;
  options.host = "127.0.0.1";
  options.port = quic_port;
  options.verification.certhash = certhash;
  http::Request request;
  request.method = "GET";
  request.scheme = "https";
  request.authority = "127.0.0.1:" + std::to_string(quic_port);
  request.target = target;
  request.path = target.substr(0, target.find('?'));
  std::pair<unsigned, std::string> result;
  std::exception_ptr error;
  bool done = false;
  auto run = [&](boost::asio::any_io_executor ex) -> boost::asio::awaitable<void> {
    auto conn = co_await h3::ClientConnection::connect(
        ex, options, webtransport::draft::local_settings(), std::chrono::seconds(10));
    auto reply = co_await conn->fetch(request, std::chrono::seconds(10));
    result = {reply.status, reply.body};
    conn->close();
  };
  boost::asio::co_spawn(io, run(io.get_executor()), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  // Not stopped when the request is done: the QUIC client winds down (closing packet, receive
  // loop ends) and run_for() returns once no work is left. Stopping early would strand the
  // connection and its TLS session (LeakSanitizer reports them).
  io.run_for(std::chrono::seconds(25));
  if (!done) throw std::runtime_error("HTTP/3 request did not finish in time");
  if (error) std::rethrow_exception(error);
  return result;
}

RunResult run_broker(std::vector<std::string> args, std::map<std::string, std::string> env,
                     const std::string& cwd, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{broker_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto full = environment_without_wasimoff();
  for (auto& [k, v] : env) full[k] = v;
  ChildProcess child({argv, full, false, cwd, ""});
  RunResult r;
  auto status = child.wait(timeout);
  if (!status) {
    child.signal(SIGKILL);
    child.wait(std::chrono::seconds(5));
    throw std::runtime_error("wasimoff-broker did not exit within the timeout; stderr:\n" +
                             child.stderr_text());
  }
  r.status = *status;
  r.out = child.stdout_text();
  r.err = child.stderr_text();
  return r;
}

BrokerInDir::BrokerInDir(const std::string& cwd, std::map<std::string, std::string> env)
    : port_(free_tcp_port()) {
  auto full = environment_without_wasimoff();
  full["WASIMOFF_HTTP_LISTEN"] = "127.0.0.1:" + std::to_string(port_);
  full["WASIMOFF_QUIC_LISTEN"] = "127.0.0.1:" + std::to_string(free_udp_port());
  for (auto& [k, v] : env) full[k] = v;
  process_ = std::make_unique<ChildProcess>(
      ChildProcess::Options{{broker_binary()}, full, false, cwd, ""});
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < end) {
    if (!process_->running())
      throw std::runtime_error("broker exited during startup:\n" + process_->stderr_text());
    try {
      if (http_get(url("/healthz")).status == 200) return;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  throw std::runtime_error("broker did not become ready:\n" + process_->stderr_text());
}

std::string BrokerInDir::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

}  // namespace wasimoff::testing::broker_http
