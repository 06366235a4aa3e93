// WebTransport end-to-end test of the provider page: Chromium connects to a Deno WebTransport
// server (wt_fake_broker.mts) using the certificate hash from the discovery document, writes
// ProviderResources at once, exchanges varint-framed binary Envelopes (including a 200 kB frame
// that arrives in many chunks), runs a task, and announces concurrency 0 before closing. A wrong
// certificate hash makes the page fall back to WebSocket, unless mode=webtransport.
// Usage: node webtransport.test.mjs --dist <build>/web/dist --out <dir>
import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { Reporter, expectEqual, launchBrowser, parseArgs, waitInPage, withDeadline } from "./driver.mjs";
import { startFakeBroker } from "./fake_broker.mjs";

const args = parseArgs();
const report = new Reporter("browser-webtransport");
const DENO = new URL("./node_modules/.bin/deno", import.meta.url).pathname;
const asciiHex = (s) => Buffer.from(s).toString("hex");

/** Self-signed ECDSA P-256 certificate valid for 10 days (serverCertificateHashes allows ≤ 14). */
function makeCert(dir) {
  const cert = join(dir, "cert.pem");
  const key = join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-keyout", key, "-out", cert,
    "-days", "10", "-nodes", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const der = execFileSync("openssl", ["x509", "-in", cert, "-outform", "der"]);
  return { cert, key, certhash: createHash("sha256").update(der).digest("hex") };
}

/** Spawns the Deno server; `next(pred)` waits (bounded) for a stdout JSON line matching pred. */
function startDeno(cert, key) {
  const child = spawn(DENO, ["run", "--quiet", "--unstable-net", "-A", "wt_fake_broker.mts", cert, key], {
    cwd: new URL(".", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on("line", (l) => {
    let msg;
    try {
      msg = JSON.parse(l);
    } catch {
      return;
    }
    lines.push(msg);
    for (const w of [...waiters]) w();
  });
  return {
    child,
    lines,
    next(pred, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = lines.find(pred);
          if (m) {
            clearTimeout(t);
            waiters.splice(waiters.indexOf(check), 1);
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(check), 1);
          reject(new Error(`Deno server: no matching line within ${timeoutMs / 1000} s (got ${JSON.stringify(lines).slice(0, 400)})`));
        }, timeoutMs);
        waiters.push(check);
        check();
      });
    },
  };
}

const frames = (deno) => deno.lines.filter((l) => l.frame).map((l) => l.frame);
const TYPE = (name) => asciiHex("wasimoff/wasimoff.v1." + name);

const tmp = mkdtempSync(join(tmpdir(), "wasimoff-wt-"));
let browser, deno, broker;
try {
  await withDeadline(150_000, async () => {
    if (!existsSync(DENO)) throw new Error(`${DENO} missing: run npm ci in tests/e2e/browser`);
    const { cert, key, certhash } = makeCert(tmp);
    deno = startDeno(cert, key);
    const { listening: port } = await deno.next((l) => l.listening);
    const transport = `https://127.0.0.1:${port}/transport`;
    broker = await startFakeBroker({ root: args.dist, config: { transport, certhash } });
    browser = await launchBrowser();
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${broker.url}/#workers=2&id=wt-tab`, { timeout: 30_000 });

    await report.check("connects over WebTransport with the certificate hash from the config", async () => {
      const { session } = await deno.next((l) => l.session);
      if (!session.endsWith("/transport?id=wt-tab")) throw new Error(`session URL ${session}`);
      await waitInPage(page, () => window.wasimoff.connected && window.wasimoff.transport === "webtransport");
    });
    await report.check("first frame: ProviderResources{concurrency:2, tasks:0} as Event 1", async () => {
      await deno.next((l) => l.frame);
      expectEqual(frames(deno)[0], "0801100322340a2c" + TYPE("Event.ProviderResources") + "120408021000");
    });
    await report.check("answers Listing and Ping, runs a task (responses by sequence)", async () => {
      await deno.next((l) => l.frame?.startsWith("08031002"), 30_000);
      const f = frames(deno);
      if (!f.some((x) => x.startsWith("08011002") && x.includes(TYPE("Filesystem.Listing.Response")))) throw new Error("no Listing response");
      if (!f.some((x) => x.startsWith("08021002") && x.includes(TYPE("Ping")))) throw new Error("no Ping response");
      const task = f.find((x) => x.startsWith("08031002"));
      if (!task.includes(TYPE("Task.Wasip1.Response")) || !task.includes(asciiHex("hello from WAT\n")) || !task.includes(asciiHex("wt-1")))
        throw new Error(`task response ${task.slice(0, 200)}…`);
    });
    await report.check("a 200 kB frame in many chunks is reassembled; events are processed in order", async () => {
      await waitInPage(page, () => window.wasimoff.providers === 5);
    });
    await report.check("disconnect: ProviderResources{concurrency:0}, then a normal close", async () => {
      await page.getByTestId("connect").click();
      await deno.next((l) => l.frame?.includes(TYPE("Event.ProviderResources") + "120408001000"), 20_000);
      await waitInPage(page, () => window.wasimoff.state === "disconnected");
      // Deno's WebTransport.closed does not observe the close capsule (it only resolves on the QUIC
      // idle timeout), so the close code is checked on the page side here; the test against the
      // real Broker checks it on the server side.
      const log = await page.getByTestId("log").textContent();
      if (!log.includes("connection closed: 1000 bye!")) throw new Error(log.slice(-300));
    });
    await report.check("a wrong certificate hash falls back to WebSocket", async () => {
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      await p.goto(`${broker.url}/#workers=1&id=fallback&certhash=${"0".repeat(64)}`, { timeout: 30_000 });
      const s = await broker.nextSession(30_000);
      expectEqual(s.url, "/api/provider/ws?id=fallback");
      await waitInPage(p, () => window.wasimoff.connected && window.wasimoff.transport === "websocket");
      const log = await p.getByTestId("log").textContent();
      if (!/WebTransport failed .*falling back to WebSocket/.test(log)) throw new Error(log.slice(0, 300));
      await ctx.close();
    });
    await report.check("mode=webtransport never falls back", async () => {
      const ctx = await browser.newContext();
      const p = await ctx.newPage();
      await p.goto(`${broker.url}/#workers=1&id=strict&mode=webtransport&certhash=${"0".repeat(64)}`, { timeout: 30_000 });
      await waitInPage(p, () => window.wasimoff.state === "waiting");
      const extra = await broker.nextSession(1500).then(() => "connected over WebSocket", () => "");
      expectEqual(extra, "");
      await ctx.close();
    });
    await report.check("no uncaught page errors", () => expectEqual(errors, []));
  });
} catch (e) {
  await report.check("test run", () => {
    throw e;
  });
} finally {
  await browser?.close().catch(() => {});
  await broker?.close();
  deno?.child.kill("SIGTERM");
  rmSync(tmp, { recursive: true, force: true });
  report.finish();
}
