// Shared driver for the browser tests: launches Debian's Chromium through playwright-core
// (docs/webtransport.md §8 recipe), bounds every wait, and reports one ok/FAIL line per check plus
// a final "<suite>: N passed, M failed" line; the process exit code is non-zero on any failure.
import { existsSync, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.WASIMOFF_CHROMIUM ?? "/usr/bin/chromium";

/** --dist <dir> --out <dir> from the command line (CTest passes both), with defaults. */
export function parseArgs(argv = process.argv.slice(2)) {
  const args = { dist: resolve("../../../build/dev/web/dist"), out: resolve(".") };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--dist") args.dist = resolve(argv[++i]);
    else if (argv[i] === "--out") args.out = resolve(argv[++i]);
    else throw new Error(`unknown argument ${argv[i]} (expected --dist <dir> --out <dir>)`);
  }
  if (!existsSync(resolve(args.dist, "index.html"))) {
    throw new Error(`${args.dist}/index.html is missing: build the page first (cmake --build <dir> --target wasimoff_web)`);
  }
  mkdirSync(args.out, { recursive: true });
  return args;
}

/**
 * Launches headless Chromium. Never pass --disable-quic (WebTransport needs QUIC);
 * --no-sandbox is required when running as root.
 */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/** Collects check results and prints them the way CTest logs are read. */
export class Reporter {
  constructor(suite) {
    this.suite = suite;
    this.passed = 0;
    this.failed = 0;
  }

  /** Runs one named check; an exception or a false result is a failure. */
  async check(name, fn) {
    try {
      const r = await fn();
      if (r === false) throw new Error("condition is false");
      this.passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      this.failed++;
      console.log(`FAIL ${name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Prints the summary line and sets the exit code. */
  finish() {
    console.log(`${this.suite}: ${this.passed} passed, ${this.failed} failed`);
    process.exitCode = this.failed > 0 || this.passed === 0 ? 1 : 0;
  }
}

/** JSON with object keys sorted, so that comparisons ignore key order. */
export function canonical(v) {
  return JSON.stringify(v, (_k, x) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

export function expectEqual(actual, expected, what = "value") {
  const a = canonical(actual);
  const b = canonical(expected);
  if (a !== b) throw new Error(`${what}: expected ${b}, got ${a}`);
}

/** Waits until fn() in the page returns a truthy value (bounded, default 30 s). */
export async function waitInPage(page, fn, arg, timeout = 30_000) {
  const handle = await page.waitForFunction(fn, arg, { timeout, polling: 50 });
  return handle.jsonValue();
}

/** Runs `body` with a hard overall time limit so a hung browser cannot stall CTest. */
export async function withDeadline(ms, body) {
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`test run exceeded ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([body(), limit]);
  } finally {
    clearTimeout(timer);
  }
}
