// A long-lived PEM certificate for the Broker's QUIC listener (WASIMOFF_QUIC_CERT/_KEY), made
// with the openssl CLI. The Broker then publishes no certhash (docs/http-api.md §8), so Chromium
// has to trust the certificate itself: `--ignore-certificate-errors-spki-list=<base64 SHA-256 of
// the SubjectPublicKeyInfo>` does that for this one key without a CA.
import { execFileSync } from "node:child_process";
import { join } from "node:path";

export function makePemCertificate(dir) {
  const cert = join(dir, "quic-cert.pem");
  const key = join(dir, "quic-key.pem");
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "365", "-keyout", key, "-out", cert,
      "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    { stdio: ["ignore", "ignore", "pipe"], timeout: 30_000 },
  );
  const pub = execFileSync("openssl", ["x509", "-in", cert, "-pubkey", "-noout"], { timeout: 30_000 });
  const spkiDer = execFileSync("openssl", ["pkey", "-pubin", "-outform", "der"], { input: pub, timeout: 30_000 });
  const spki = execFileSync("openssl", ["dgst", "-sha256", "-binary"], { input: spkiDer, timeout: 30_000 }).toString("base64");
  return { cert, key, spki };
}
