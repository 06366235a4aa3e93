// Browser end-to-end test of the C++ WebTransport server with Debian's Chromium and
// playwright-core (docs/webtransport.md §8): a session with serverCertificateHashes (ephemeral
// 10-day ECDSA certificate), framed Envelopes both ways, a clean close, a server-initiated close
// code, and the same session with a long-lived PEM certificate accepted via Chromium flags.
//
// Usage: node drive.mjs <path to wt_test_server>. Prints one ok/FAIL line per check and
// "webtransport-e2e: N passed, M failed"; exits 1 on failure, 77 when Chromium is missing.
import { spawn, execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const serverBin = process.argv[2] || process.env.WT_TEST_SERVER;
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
if (!existsSync(chromiumPath)) { console.log(`SKIP: ${chromiumPath} not installed`); process.exit(77); }
if (!serverBin || !existsSync(serverBin)) { console.error('usage: node drive.mjs <wt_test_server>'); process.exit(2); }
const { chromium } = await import('playwright-core');

let passed = 0, failed = 0;
const report = (ok, name, detail = '') => {
  console.log(`${ok ? 'ok' : 'FAIL'} ${name}${detail ? ' ' + detail : ''}`);
  ok ? passed++ : failed++;
};

// Starts wt_test_server; resolves with {proc, port, certhash, stderr()}.
function startServer(args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(serverBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => reject(new Error('server did not start')), 10000);
    proc.stderr.on('data', (d) => { err += d; });
    proc.stdout.on('data', (d) => {
      out += d;
      const port = /port (\d+)/.exec(out), hash = /certhash ([0-9a-f]{64})/.exec(out);
      if (port && hash) {
        clearTimeout(timer);
        resolve({ proc, port: Number(port[1]), certhash: hash[1], stderr: () => err });
      }
    });
    proc.on('exit', (code) => reject(new Error(`server exited with ${code}: ${err}`)));
  });
}

async function stopServer(server) {
  const exited = new Promise((r) => server.proc.once('exit', (code) => r(code)));
  server.proc.kill('SIGTERM');
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('timeout'), 10000))]);
  if (code === 'timeout') server.proc.kill('SIGKILL');
  return code;
}

// Plain-HTTP page server on 127.0.0.1 (a secure context for WebTransport).
const page = readFileSync(join(here, 'page.html'));
const http = createServer((req, res) => { res.setHeader('Content-Type', 'text/html'); res.end(page); });
await new Promise((r) => http.listen(0, '127.0.0.1', r));
const httpPort = http.address().port;

async function runPage(extraArgs, fragment, label) {
  const browser = await chromium.launch({
    executablePath: chromiumPath, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
           '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
  try {
    const p = await browser.newPage();
    await p.goto(`http://127.0.0.1:${httpPort}/#${fragment}`);
    const handle = await p.waitForFunction(() => window.testResult, null, { timeout: 30000 });
    const { checks } = await handle.jsonValue();
    for (const c of checks) report(c.ok, `${label}: ${c.name}`, c.ok ? '' : c.detail);
    if (checks.length === 0) report(false, `${label}: page ran no check`);
  } catch (e) {
    report(false, `${label}: page`, String(e).split('\n')[0]);
  } finally {
    await browser.close();
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'wt-e2e-'));
try {
  // 1. serverCertificateHashes with the server's ephemeral certificate.
  const s1 = await startServer(['--port', '0']);
  await runPage([], `port=${s1.port}&hash=${s1.certhash}&closeTest=1`, 'certhash');
  await new Promise((r) => setTimeout(r, 300));
  report(/session ended: peer closed: 0 bye!/.test(s1.stderr()), 'certhash: server saw CLOSE(0, "bye!")');
  report(await stopServer(s1) === 0, 'certhash: server shut down cleanly');

  // 2. A long-lived PEM certificate: no hashes; Chromium trusts it through its SPKI hash.
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-days', '365', '-keyout', join(tmp, 'key.pem'), '-out', join(tmp, 'cert.pem'),
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const pub = execFileSync('openssl', ['x509', '-in', join(tmp, 'cert.pem'), '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  const spki = execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
  const s2 = await startServer(['--port', '0', '--cert', join(tmp, 'cert.pem'), '--key', join(tmp, 'key.pem')]);
  await runPage([`--origin-to-force-quic-on=127.0.0.1:${s2.port}`, `--ignore-certificate-errors-spki-list=${spki}`],
                `port=${s2.port}`, 'pem');
  report(await stopServer(s2) === 0, 'pem: server shut down cleanly');
} catch (e) {
  report(false, 'driver', String(e));
} finally {
  http.close();
  rmSync(tmp, { recursive: true, force: true });
}
console.log(`webtransport-e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
