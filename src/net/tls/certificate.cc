#include "net/tls/certificate.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/sha256.h"
#include "common/strings.h"

namespace wasimoff::tls {

namespace {

using Part = TlsError::Part;

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using GenNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;

constexpr std::size_t kMaxPemFile = 1 << 20;
constexpr std::time_t kBackdate = 3600;        // notBefore = now − 1 h
constexpr std::time_t kValidity = 10 * 86400;  // notAfter = notBefore + 10 days

// The OpenSSL error queue of this thread as text (and emptied, so later operations on this
// thread do not see stale errors).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

[[noreturn]] void fail(const std::string& what, Part part = Part::none) {
  ERR_clear_error();
  throw TlsError(what, part);
}

[[noreturn]] void fail_openssl(const std::string& what) {
  throw TlsError(what + ": " + openssl_errors(), Part::none);
}

std::string read_file(const std::string& path, const char* kind, Part part) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    fail("cannot read " + std::string(kind) + " file " + path + ": is a directory", part);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail("cannot read " + std::string(kind) + " file " + path + ": " + std::strerror(errno), part);
  std::string data;
  char buf[16384];
  while (in) {
    in.read(buf, sizeof buf);
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > kMaxPemFile)
      fail(std::string(kind) + " file " + path + " is larger than 1 MiB; expected a PEM file",
           part);
  }
  if (in.bad())
    fail("cannot read " + std::string(kind) + " file " + path + ": " + std::strerror(errno), part);
  return data;
}

BioPtr mem_bio(std::string_view data) {
  BioPtr bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) fail_openssl("cannot allocate a memory BIO");
  return bio;
}

std::string bio_contents(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string cert_to_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) fail_openssl("cannot encode certificate");
  return bio_contents(bio.get());
}

std::string key_to_pkcs8_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1)
    fail_openssl("cannot encode private key");
  return bio_contents(bio.get());
}

std::string cert_to_der(X509* cert) {
  unsigned char* der = nullptr;
  int n = i2d_X509(cert, &der);
  if (n <= 0) fail_openssl("cannot encode certificate as DER");
  std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(n));
  OPENSSL_free(der);
  return out;
}

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (ASN1_TIME_to_tm(t, &tm) != 1) fail_openssl("certificate has an invalid validity time");
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

CertificatePair make_pair(X509* leaf, const std::vector<X509Ptr>& intermediates, EVP_PKEY* key,
                          bool ephemeral) {
  CertificatePair p;
  p.cert_pem = cert_to_pem(leaf);
  for (const auto& c : intermediates) p.cert_pem += cert_to_pem(c.get());
  p.key_pem = key_to_pkcs8_pem(key);
  p.leaf_der = cert_to_der(leaf);
  p.certhash = sha256_hex(p.leaf_der);
  p.not_before = to_time_point(X509_get0_notBefore(leaf));
  p.not_after = to_time_point(X509_get0_notAfter(leaf));
  p.ephemeral = ephemeral;
  return p;
}

// Refuses to prompt on the terminal for a pass phrase (OpenSSL's default for encrypted keys).
int no_password(char*, int, int, void*) {
  return -1;
}

bool is_dns_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

bool valid_dns_name(std::string_view name) {
  if (name.starts_with("*.")) name.remove_prefix(2);
  if (name.empty() || name.size() > 253 || name.front() == '.' || name.back() == '.') return false;
  for (char c : name)
    if (!is_dns_char(c)) return false;
  return name.find("..") == std::string_view::npos;
}

// One subjectAltName entry; the key deduplicates ("dns:<lower name>" or "ip:<raw bytes>").
struct AltName {
  std::string key;
  bool ip = false;
  std::string value;  // DNS name or raw address bytes
};

AltName alt_name(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) == 1)
    return {"ip:" + std::string(reinterpret_cast<char*>(buf), 4), true,
            std::string(reinterpret_cast<char*>(buf), 4)};
  if (inet_pton(AF_INET6, host.c_str(), buf) == 1)
    return {"ip:" + std::string(reinterpret_cast<char*>(buf), 16), true,
            std::string(reinterpret_cast<char*>(buf), 16)};
  if (!valid_dns_name(host))
    fail("cannot put \"" + host + "\" into the certificate: not a DNS name or IP address");
  return {"dns:" + to_lower(host), false, host};
}

void add_general_name(GENERAL_NAMES* names, const AltName& n) {
  GENERAL_NAME* g = GENERAL_NAME_new();
  if (!g) fail_openssl("cannot allocate subjectAltName");
  ASN1_STRING* s = ASN1_STRING_type_new(n.ip ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
  if (!s || ASN1_STRING_set(s, n.value.data(), static_cast<int>(n.value.size())) != 1) {
    ASN1_STRING_free(s);
    GENERAL_NAME_free(g);
    fail_openssl("cannot encode subjectAltName");
  }
  GENERAL_NAME_set0_value(g, n.ip ? GEN_IPADD : GEN_DNS, s);
  if (sk_GENERAL_NAME_push(names, g) <= 0) {
    GENERAL_NAME_free(g);
    fail_openssl("cannot encode subjectAltName");
  }
}

void add_ext(X509* cert, X509V3_CTX* ctx, int nid, const char* value) {
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    fail_openssl(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid));
}

}  // namespace

CertificatePair generate_ephemeral_certificate(const std::vector<std::string>& extra_hosts) {
  // Validate the names first: a bad host is the caller's problem, not a crypto failure.
  std::vector<AltName> alt;
  auto add = [&](std::string host) {
    auto n = alt_name(std::move(host));
    for (const auto& e : alt)
      if (e.key == n.key) return;
    alt.push_back(std::move(n));
  };
  add("localhost");
  add("127.0.0.1");
  add("::1");
  for (const auto& h : extra_hosts) add(h);

  PKeyPtr key(EVP_EC_gen("P-256"));
  if (!key) fail_openssl("cannot generate an ECDSA P-256 key");
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), X509_VERSION_3) != 1)
    fail_openssl("cannot create a certificate");

  // Random positive serial of exactly 128 bits (top bit set, so it never is zero).
  BnPtr serial(BN_new());
  if (!serial || BN_rand(serial.get(), 128, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())))
    fail_openssl("cannot create a random serial number");

  std::time_t not_before = std::time(nullptr) - kBackdate;
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), not_before) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), not_before + kValidity))
    fail_openssl("cannot set the validity period");

  NamePtr name(X509_NAME_new());
  auto entry = [&](const char* field, const char* value) {
    if (X509_NAME_add_entry_by_txt(name.get(), field, MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value), -1, -1, 0) != 1)
      fail_openssl("cannot set the certificate subject");
  };
  if (!name) fail_openssl("cannot create the certificate subject");
  entry("O", "wasimoff");
  entry("CN", "wasimoff webtransport");
  if (X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_issuer_name(cert.get(), name.get()) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1)
    fail_openssl("cannot set the certificate subject");

  GenNamesPtr names(sk_GENERAL_NAME_new_null());
  if (!names) fail_openssl("cannot allocate subjectAltName");
  for (const auto& n : alt) add_general_name(names.get(), n);
  if (X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) != 1)
    fail_openssl("cannot add subjectAltName");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  add_ext(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
  add_ext(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature");
  add_ext(cert.get(), &ctx, NID_ext_key_usage, "serverAuth");

  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0)
    fail_openssl("cannot sign the certificate");
  return make_pair(cert.get(), {}, key.get(), /*ephemeral=*/true);
}

CertificatePair load_certificate_pem(std::string_view cert_pem, std::string_view key_pem,
                                     const std::string& cert_name, const std::string& key_name) {
  std::vector<X509Ptr> chain;
  {
    auto bio = mem_bio(cert_pem);
    while (true) {
      X509Ptr c(PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr));
      if (!c) break;
      chain.push_back(std::move(c));
    }
    // Reaching the end of the input is reported as PEM_R_NO_START_LINE; anything else is a
    // broken block.
    unsigned long err = ERR_peek_last_error();
    bool clean_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
    if (!chain.empty() && err != 0 && !clean_end)
      fail(cert_name + " contains a malformed PEM certificate block (" + openssl_errors() + ")",
           Part::certificate);
    ERR_clear_error();
  }
  if (chain.empty())
    fail(cert_name + " is not a PEM certificate (no valid \"-----BEGIN CERTIFICATE-----\" block)",
         Part::certificate);

  PKeyPtr key;
  {
    auto bio = mem_bio(key_pem);
    key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key) {
      if (key_pem.find("ENCRYPTED") != std::string_view::npos)
        fail(key_name +
                 " is encrypted; decrypt it first (openssl pkey -in <file> -out <plain file>)",
             Part::key);
      fail(key_name +
               " is not a PEM private key (expected \"PRIVATE KEY\" (PKCS#8), \"EC PRIVATE KEY\" "
               "(SEC1) or \"RSA PRIVATE KEY\" (PKCS#1))",
           Part::key);
    }
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1)
    fail(key_name + " does not match " + cert_name, Part::key);

  std::vector<X509Ptr> intermediates;
  for (std::size_t i = 1; i < chain.size(); ++i) intermediates.push_back(std::move(chain[i]));
  auto pair = make_pair(chain.front().get(), intermediates, key.get(), /*ephemeral=*/false);
  ERR_clear_error();
  return pair;
}

CertificatePair load_certificate_files(const std::string& cert_path, const std::string& key_path) {
  auto cert = read_file(cert_path, "certificate", Part::certificate);
  auto key = read_file(key_path, "private key", Part::key);
  // Do not leave the key file's bytes in freed memory, whatever happens.
  struct Wipe {
    std::string& s;
    ~Wipe() { OPENSSL_cleanse(s.data(), s.size()); }
  } wipe{key};
  return load_certificate_pem(cert, key, "certificate file " + cert_path,
                              "private key file " + key_path);
}

}  // namespace wasimoff::tls
