// Real processes for the end-to-end tests: a wasimoff-broker on free 127.0.0.1 ports (HTTP on
// TCP, QUIC on UDP) and native wasimoff-provider processes connected to it. Every wait is
// bounded; every child is killed when the test process exits, however it exits.
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { appendFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

const children = new Set();
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    for (const c of children) c.kill("SIGKILL");
    process.exit(130);
  });
}

/** A free TCP port on 127.0.0.1 (bound and released; the broker reports a clash, see below). */
export function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A free UDP port on 127.0.0.1. */
export function freeUdpPort() {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` (async allowed) until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function waitFor(what, fn, timeoutMs = 30_000, intervalMs = 100) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= end) {
      throw new Error(`${what}: not reached within ${timeoutMs / 1000} s${last ? ` (last error: ${last.message ?? last})` : ""}`);
    }
    await sleep(intervalMs);
  }
}

/**
 * A child process whose stderr and stdout lines are kept (bounded) and appended to `logFile`.
 * `waitLine(re)` waits for a line matching `re` (bounded); `stop()` sends SIGTERM and escalates
 * to SIGKILL after `graceMs`, resolving with the exit code (or the signal name).
 */
class Child {
  constructor(name, argv, { env, cwd, logFile }) {
    this.name = name;
    this.lines = []; // the last 10 000–20 000 lines; `dropped` older ones were discarded
    this.dropped = 0;
    this.exit = undefined;
    this.waiters = new Set();
    this.logFile = logFile;
    writeFileSync(logFile, `$ ${argv.join(" ")}\n`);
    this.proc = spawn(argv[0], argv.slice(1), { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
    children.add(this.proc);
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        children.delete(this.proc);
        this.exit = code ?? signal;
        this.notify();
        resolve(this.exit);
      });
    });
    let partial = { stdout: "", stderr: "" };
    for (const stream of ["stdout", "stderr"]) {
      this.proc[stream].setEncoding("utf8");
      this.proc[stream].on("data", (chunk) => {
        appendFileSync(logFile, chunk);
        const text = partial[stream] + chunk;
        const parts = text.split("\n");
        partial[stream] = parts.pop();
        for (const l of parts) {
          this.lines.push(l);
          if (this.lines.length > 20_000) {
            this.lines.splice(0, 10_000);
            this.dropped += 10_000;
          }
        }
        this.notify();
      });
    }
  }

  notify() {
    for (const w of [...this.waiters]) w();
  }

  /** Number of lines logged so far: a `from` for waitLine() that skips everything until now. */
  get lineCount() {
    return this.dropped + this.lines.length;
  }

  get running() {
    return this.exit === undefined;
  }

  /**
   * Resolves with the first kept line matching `re` from line number `from` (see lineCount) on;
   * rejects on timeout or process exit.
   */
  waitLine(re, timeoutMs = 15_000, from = 0) {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.slice(Math.max(0, from - this.dropped)).find((l) => re.test(l));
        if (line !== undefined) return done(() => resolve(line));
        if (!this.running) return done(() => reject(new Error(`${this.name} exited (${this.exit}) before logging ${re}; see ${this.logFile}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: no line ${re} within ${timeoutMs / 1000} s; see ${this.logFile}`))), timeoutMs);
      const done = (f) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        f();
      };
      this.waiters.add(check);
      check();
    });
  }

  async stop(graceMs = 10_000) {
    if (!this.running) return this.exit;
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * Starts wasimoff-broker with WASIMOFF_DEBUG (for /debug/state) on free ports, in `dir` (so no
 * stray .env / config.env is read), serving `dist`. `env` adds or overrides variables. Retries
 * with new ports when one was taken in between. Returns {url, quicPort, child, stop()}.
 */
export async function startBroker({ bin, dist, dir, env = {}, name = "broker" }) {
  mkdirSync(dir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freeTcpPort();
    const quicPort = await freeUdpPort();
    const full = {
      PATH: process.env.PATH,
      HOME: process.env.HOME ?? dir,
      WASIMOFF_HTTP_LISTEN: `127.0.0.1:${port}`,
      WASIMOFF_QUIC_LISTEN: `127.0.0.1:${quicPort}`,
      WASIMOFF_TRANSPORT_URL: `https://127.0.0.1:${quicPort}/transport`,
      WASIMOFF_STATIC_FILES: dist,
      WASIMOFF_FILESTORAGE: ":memory:",
      WASIMOFF_DEBUG: "true",
      ...env,
    };
    const child = new Child(name, [bin], { env: full, cwd: dir, logFile: join(dir, `${name}.log`) });
    try {
      await child.waitLine(/wasimoff-broker .* ready/, 20_000);
    } catch (e) {
      await child.stop(2000);
      const clash = child.lines.some((l) => /Address already in use/.test(l));
      if (clash && attempt < 5) continue;
      throw e;
    }
    return { url: `http://127.0.0.1:${port}`, port, quicPort, child, stop: () => child.stop() };
  }
}

/**
 * Starts a native wasimoff-provider connected to `broker` (an http:// origin) with the cache
 * directory `storage` (default: its own under `dir`; a later provider may reuse one to skip the
 * ahead-of-time compilation, which takes 2–20 s per module on a loaded machine). Returns
 * {name, child, stop()}; wait for registration through the Broker's view.
 */
export function startNativeProvider({ bin, broker, dir, name = "native", workers = 2, transport = "websocket", storage = join(dir, `${name}-storage`) }) {
  mkdirSync(storage, { recursive: true });
  const argv = [bin, "--broker", broker, "--workers", String(workers), "--name", name, "--storage", storage, "--transport", transport];
  const child = new Child(name, argv, { env: { PATH: process.env.PATH, HOME: process.env.HOME ?? dir }, cwd: dir, logFile: join(dir, `${name}.log`) });
  return { name, child, stop: () => child.stop() };
}
