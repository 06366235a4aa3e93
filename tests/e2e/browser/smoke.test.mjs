// Smoke test of the built provider page: served with COOP/COEP by a local static server (no
// Broker), it must load cross-origin isolated, render its UI, expose window.wasimoff, refuse a
// second tab, and — with autoconnect — report the failing connection and back off.
// Usage: node smoke.test.mjs --dist <build>/web/dist --out <dir for the screenshot>
import { join } from "node:path";
import { Reporter, expectEqual, launchBrowser, parseArgs, waitInPage, withDeadline } from "./driver.mjs";
import { startStaticServer } from "./static_server.mjs";

const args = parseArgs();
const report = new Reporter("browser-smoke");
const srv = await startStaticServer({ root: args.dist });
let browser;

try {
  await withDeadline(90_000, async () => {
    browser = await launchBrowser();
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${srv.url}/#autoconnect=no&workers=2`, { timeout: 30_000 });

    await report.check("page initialises and exposes window.wasimoff", async () => {
      await waitInPage(page, () => window.wasimoff?.ready === true);
    });
    await report.check("page is cross-origin isolated (SharedArrayBuffer available)", async () => {
      expectEqual(await page.evaluate(() => [crossOriginIsolated, typeof SharedArrayBuffer]), [true, "function"]);
    });
    await report.check("title, heading, connect button and version footer are shown", async () => {
      expectEqual(await page.title(), "wasimoff provider", "title");
      expectEqual((await page.locator("h1").textContent())?.trim(), "wasimoff", "heading");
      expectEqual((await page.getByTestId("connect").textContent())?.trim(), "Connect", "button");
      const version = (await page.getByTestId("version").textContent())?.trim() ?? "";
      if (!/^\d+\.\d+\.\d+/.test(version)) throw new Error(`version footer "${version}"`);
    });
    await report.check("status object reports a disconnected provider with a persistent id", async () => {
      const s = await page.evaluate(() => ({ ...Object.fromEntries(Object.keys(Object.getOwnPropertyDescriptors(window.wasimoff)).map((k) => [k, window.wasimoff[k]])) }));
      expectEqual([s.connected, s.state, s.transport, s.tasksDone, s.tasksFailed], [false, "disconnected", null, 0, 0]);
      const stored = await page.evaluate(() => localStorage.getItem("wasimoff_id"));
      expectEqual(s.id, stored, "id in localStorage");
      if (!/^[A-Za-z0-9_-]{21}$/.test(s.id)) throw new Error(`id ${s.id}`);
    });
    await report.check("window.wasimoff is read-only", async () => {
      const r = await page.evaluate(() => {
        "use strict";
        try {
          window.wasimoff.connected = true;
          return "assigned";
        } catch {
          return window.wasimoff.connected === false ? "refused" : "changed";
        }
      });
      expectEqual(r, "refused");
    });
    await report.check("worker count control honours #workers=2 and +/− change it", async () => {
      expectEqual((await page.getByTestId("workers-count").textContent())?.trim(), "2");
      const cores = await page.evaluate(() => navigator.hardwareConcurrency);
      await page.getByTestId("workers-minus").click();
      expectEqual((await page.getByTestId("workers-count").textContent())?.trim(), "1");
      await page.getByTestId("workers-max").click();
      expectEqual((await page.getByTestId("workers-count").textContent())?.trim(), String(cores));
    });
    await report.check("screenshot saved", async () => {
      await page.screenshot({ path: join(args.out, "smoke.png"), fullPage: true });
    });
    await report.check("a second tab refuses to start (Web Lock wasimoff)", async () => {
      const second = await context.newPage();
      await second.goto(`${srv.url}/#autoconnect=no`, { timeout: 30_000 });
      const fatal = await waitInPage(second, () => window.wasimoff?.fatal);
      if (!/already running in another tab/.test(fatal)) throw new Error(`fatal: ${fatal}`);
      if (!(await second.getByTestId("connect").isDisabled())) throw new Error("connect button enabled");
      await second.close();
    });
    await report.check("without a Broker, autoconnect logs the failure and backs off", async () => {
      const ctx2 = await browser.newContext();
      const p = await ctx2.newPage();
      await p.goto(`${srv.url}/#workers=1`, { timeout: 30_000 });
      await waitInPage(p, () => window.wasimoff?.state === "waiting");
      const log = (await p.getByTestId("log").textContent()) ?? "";
      if (!/connect failed/.test(log)) throw new Error(`log: ${log.slice(0, 300)}`);
      if (!/reconnecting in/.test((await p.getByTestId("cluster").textContent()) ?? "")) throw new Error("no back-off shown");
      await ctx2.close();
    });
    await report.check("no uncaught page errors", async () => {
      expectEqual(errors, []);
    });
  });
} catch (e) {
  await report.check("test run", () => {
    throw e;
  });
} finally {
  await browser?.close().catch(() => {});
  await srv.close();
  report.finish();
}
