// Chromium for the tests against the real Broker. Reuses the provider page's browser-test folder
// (tests/e2e/browser): its npm packages (playwright-core, installed by the CMake target
// wasimoff_e2e_browser_deps) and its Reporter / wait helpers, so there is one lockfile.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { CHROMIUM } from "../browser/driver.mjs";

export { Reporter, expectEqual, waitInPage, withDeadline } from "../browser/driver.mjs";

const requireFromBrowserTests = createRequire(new URL("../browser/package.json", import.meta.url));

/**
 * Launches headless Debian Chromium (docs/webtransport.md §8). `extraArgs` are appended, e.g. the
 * SPKI allow-list for a PEM certificate. Never --disable-quic: WebTransport needs QUIC.
 */
export async function launchChromium(extraArgs = []) {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: apt-get install chromium`);
  const { chromium } = requireFromBrowserTests("playwright-core");
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
      ...extraArgs,
    ],
  });
}

/**
 * Opens the provider page served by the Broker at `brokerUrl` with the fragment options `fragment`
 * (e.g. "autoconnect=yes&workers=2&id=tab") in a fresh context; collects uncaught page errors,
 * console errors, the URLs of HTTP requests and of WebSockets it opened in `page.errors`,
 * `page.consoleErrors`, `page.requests` and `page.websockets` (bounded), and counts the Web
 * Workers started and terminated in `page.webWorkers`.
 */
export async function openProviderPage(browser, brokerUrl, fragment) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const page = await context.newPage();
  page.errors = [];
  page.consoleErrors = [];
  page.requests = [];
  page.websockets = [];
  const keep = (list, item) => list.length < 10_000 && list.push(item);
  page.on("pageerror", (e) => keep(page.errors, e.message));
  page.on("console", (m) => {
    if (m.type() === "error") keep(page.consoleErrors, m.text());
  });
  page.on("request", (r) => keep(page.requests, `${r.method()} ${r.url()}`));
  page.on("websocket", (ws) => keep(page.websockets, ws.url()));
  // Web Workers as Chromium sees them: a terminated worker fires "close".
  page.webWorkers = { started: 0, closed: 0 };
  page.on("worker", (w) => {
    page.webWorkers.started++;
    w.on("close", () => page.webWorkers.closed++);
  });
  await page.goto(`${brokerUrl}/#${fragment}`, { timeout: 30_000 });
  return { context, page };
}

/** The page's status object (window.wasimoff) as plain data. */
export function pageStatus(page) {
  return page.evaluate(() => {
    const w = window.wasimoff;
    return {
      ready: w.ready,
      state: w.state,
      connected: w.connected,
      transport: w.transport,
      workers: w.workers,
      busy: w.busy,
      providers: w.providers,
      tasksDone: w.tasksDone,
      tasksFailed: w.tasksFailed,
      files: w.files,
    };
  });
}
