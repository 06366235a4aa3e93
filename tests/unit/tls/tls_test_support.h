// Helpers for the TLS tests: a temporary directory and PEM fixtures made by the openssl CLI at
// test time (no private keys are committed).
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace wasimoff::tls::testing {

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    for (int attempt = 0;; ++attempt) {
      path_ = std::filesystem::temp_directory_path() /
              ("wasimoff-tls-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
      if (std::filesystem::create_directory(path_)) break;
      if (attempt > 100) throw std::runtime_error("cannot create a temporary directory");
    }
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(std::string_view name) const { return (path_ / name).string(); }
  std::string write(std::string_view name, std::string_view content) const {
    auto p = path_ / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << content;
    return p.string();
  }
  std::string read(std::string_view name) const {
    std::ifstream in(path_ / name, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::filesystem::path path_;
};

// Runs a shell command in `dir`; throws with the command on failure.
inline void run(const TempDir& dir, const std::string& command) {
  std::string cmd = "cd '" + dir.path().string() + "' && ( " + command + " ) >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

// Key formats the loader must accept.
enum class KeyFormat { ec_sec1, ec_pkcs8, rsa_pkcs1, rsa_pkcs8 };

// Writes `<name>.key` in the requested format and a self-signed `<name>.crt` for it.
inline void make_self_signed(const TempDir& dir, const std::string& name, KeyFormat format,
                             const std::string& cn = "localhost") {
  switch (format) {
    case KeyFormat::ec_sec1:
      run(dir, "openssl ecparam -name prime256v1 -genkey -noout -out " + name + ".key");
      break;
    case KeyFormat::ec_pkcs8:
      run(dir,
          "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " + name + ".key");
      break;
    case KeyFormat::rsa_pkcs1:
      run(dir, "openssl genrsa -traditional -out " + name + ".key 2048");
      break;
    case KeyFormat::rsa_pkcs8:
      run(dir,
          "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " + name + ".key");
      break;
  }
  run(dir, "openssl req -x509 -key " + name + ".key -subj /CN=" + cn + " -days 30 -out " + name +
               ".crt");
}

}  // namespace wasimoff::tls::testing
