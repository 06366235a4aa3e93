// Helpers for the TLS tests: PEM fixtures in a temporary directory, made by the openssl CLI at
// test time (no private keys are committed).
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "temp_dir.h"

namespace wasimoff::tls::testing {

// The shared temporary directory (tests/support/temp_dir.h).
using wasimoff::testing::TempDir;

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
