// The browser provider page against the real Broker (issue "browser provider page";
// docs/protocol.md §6–§9, docs/provider-internals.md §4, docs/webtransport.md §8). One transport
// per run:
//
//   --transport webtransport  ephemeral certificate, the page pins it with the config's certhash
//   --transport websocket     WebTransport disabled with the page option #mode=websocket
//   --transport pem           WASIMOFF_QUIC_CERT/_KEY: no certhash in the config; Chromium trusts
//                             the key through --ignore-certificate-errors-spki-list
//
// Steps: a native provider runs the 50-task hello job alone (the reference) and leaves; Chromium
// opens http://127.0.0.1:<port>/#autoconnect=yes&workers=2 from the Broker; the Broker's view
// (/debug/state, /metrics, its log) and the page's window.wasimoff agree on the connection; the
// same job runs on the tab alone and every result matches the reference; two long tasks are
// cancelled (Connect-Timeout-Ms, aborted request) and the freed workers run the next tasks; a
// screenshot shows the connected page and its task count; disconnecting closes cleanly.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, readExample, runDir } from "./args.mjs";
import { BrokerApi, ConnectError, providersByName } from "./broker_api.mjs";
import { Reporter, expectEqual, launchChromium, openProviderPage, pageStatus, waitInPage, withDeadline } from "./browser.mjs";
import { startBroker, startNativeProvider, waitFor } from "./cluster.mjs";
import { makePemCertificate } from "./pem_certificate.mjs";
import { compareJobs, helloJob, helloRootfs, tasksPerProvider } from "./workload.mjs";

const args = parseArgs();
const mode = args.transport; // webtransport | websocket | pem
const expectedTransport = mode === "websocket" ? "websocket" : "webtransport";
const TASKS = Number(args.tasks ?? 50);
const TAB = `e2e-${mode}`;
const dir = runDir(args.out, `provider-page-${mode}`);
const report = new Reporter(`browser-broker-${mode}`);

let broker, native, browser;
try {
  await withDeadline(420_000, async () => {
    const env = {};
    const chromiumArgs = [];
    if (mode === "pem") {
      const pem = makePemCertificate(dir);
      env.WASIMOFF_QUIC_CERT = pem.cert;
      env.WASIMOFF_QUIC_KEY = pem.key;
      chromiumArgs.push(`--ignore-certificate-errors-spki-list=${pem.spki}`);
    }
    broker = await startBroker({ bin: args["broker-bin"], dist: args.dist, dir, env });
    // Without this flag Chromium 156 rejects the SPKI-allowed certificate on the WebTransport
    // handshake (QUIC_TLS_CERTIFICATE_UNKNOWN); it only concerns the QUIC port, not the page.
    if (mode === "pem") chromiumArgs.push(`--origin-to-force-quic-on=127.0.0.1:${broker.quicPort}`);
    const api = new BrokerApi(broker.url);
    console.log(`broker ${broker.url}, QUIC port ${broker.quicPort}; logs in ${dir}`);

    await report.check("discovery document names the QUIC URL (and the certhash only for the ephemeral certificate)", async () => {
      const cfg = await api.config();
      expectEqual(cfg.transport, `https://127.0.0.1:${broker.quicPort}/transport`, "transport");
      if (mode === "pem") {
        expectEqual(cfg.certhash, undefined, "certhash");
      } else {
        const logged = await broker.child.waitLine(/certhash [0-9a-f]{64}/);
        expectEqual(cfg.certhash, /certhash ([0-9a-f]{64})/.exec(logged)[1], "certhash");
      }
    });

    await api.upload("hello.wasm", readExample(args, "hello.wasm"));
    await api.upload("fib.wasm", readExample(args, "fib.wasm"));
    await api.upload("e2e-rootfs.zip", helloRootfs());
    const job = helloJob(TASKS);

    let reference;
    await report.check(`native provider alone runs the ${TASKS}-task job (the reference)`, async () => {
      native = startNativeProvider({ bin: args["provider-bin"], broker: broker.url, dir, name: "native", workers: 2 });
      await waitFor("native provider registered", async () => providersByName(await api.state()).native?.capacity === 2, 30_000);
      reference = await api.runJob({ ...job, info: { reference: "native" } }, { timeoutMs: 240_000 }); // includes the compilation
      writeFileSync(join(dir, "job-native.json"), JSON.stringify(reference, null, 1));
      expectEqual(tasksPerProvider(reference), { native: TASKS }, "tasks per provider");
      const failed = reference.tasks.filter((t) => t.error !== undefined || t.ok === undefined);
      if (failed.length) throw new Error(`tasks without output: ${JSON.stringify(failed[0]).slice(0, 300)}`);
      await native.stop();
      native = undefined;
      await waitFor("native provider gone", async () => (await api.state()).providers.length === 0, 15_000);
    });
    if (!reference) throw new Error("no reference results; the remaining checks need them");

    browser = await launchChromium(chromiumArgs);
    const fragment = `autoconnect=yes&workers=2&id=${TAB}${mode === "websocket" ? "&mode=websocket" : ""}`;
    const logFrom = broker.child.lineCount;
    const { page } = await openProviderPage(browser, broker.url, fragment);

    await report.check(`page fetches the discovery document and connects over ${expectedTransport === "webtransport" ? "WebTransport" : "WebSocket"}`, async () => {
      await waitInPage(page, () => window.wasimoff.connected, undefined, 30_000);
      const st = await pageStatus(page);
      expectEqual([st.transport, st.workers, st.busy], [expectedTransport, 2, 0], "transport, workers, busy");
      if (!page.requests.includes(`GET ${broker.url}/api/broker/v1/config`)) throw new Error(`no discovery request in ${page.requests.join(", ")}`);
      // WebTransport runs must not have fallen back to WebSocket.
      const sockets = expectedTransport === "websocket" ? [`ws://127.0.0.1:${broker.port}/api/provider/ws?id=${TAB}`] : [];
      expectEqual(page.websockets, sockets, "WebSockets opened by the page");
    });

    await report.check("Broker registered the tab after its Listing answer (/debug/state, log)", async () => {
      const p = await waitFor("tab in /debug/state", async () => providersByName(await api.state())[TAB], 15_000);
      expectEqual([p.transport, p.capacity, p.active, p.busy], [expectedTransport, 2, 0, 0], "transport, capacity, active, busy");
      if (!p.address.startsWith("127.0.0.1:")) throw new Error(`address ${p.address}`);
      await broker.child.waitLine(new RegExp(`provider ${TAB} connected from .* via ${expectedTransport}`), 5000, logFrom);
      await broker.child.waitLine(new RegExp(`provider ${TAB} registered \\(1 providers, 2 workers\\)`), 5000, logFrom);
      console.log(`  broker sees: ${JSON.stringify(p)}`);
    });

    await report.check("metrics: 1 connected provider with 2 workers", async () => {
      const m = await api.metrics();
      expectEqual([m["wasimoff_connected_providers"], m['wasimoff_available_workers{type="providers"}']], [1, 2]);
    });

    await report.check("page received ClusterInfo: 'Broker has 1 connected provider'", async () => {
      await waitInPage(page, () => window.wasimoff.providers === 1, undefined, 15_000);
      const cluster = (await page.getByTestId("cluster").textContent()).trim();
      expectEqual(cluster, "Broker has 1 connected provider");
    });

    await report.check(`the tab alone runs the ${TASKS}-task job; every result matches the native provider's`, async () => {
      const t0 = performance.now();
      const result = await api.runJob({ ...job, info: { reference: "tab" } });
      const secs = (performance.now() - t0) / 1000;
      writeFileSync(join(dir, "job-tab.json"), JSON.stringify(result, null, 1));
      expectEqual(tasksPerProvider(result), { [TAB]: TASKS }, "tasks per provider");
      const diffs = compareJobs(reference, result);
      if (diffs.length) throw new Error(`results differ from the native provider's:\n     ${diffs.join("\n     ")}`);
      console.log(`  ${TASKS} tasks in ${secs.toFixed(2)} s on the tab (first run includes fetching and compiling hello.wasm)`);
    });

    await report.check(`page counted ${TASKS} tasks done, and the Broker learned its files (FileSystemUpdate)`, async () => {
      await waitInPage(page, (n) => window.wasimoff.tasksDone === n, TASKS, 10_000);
      expectEqual((await pageStatus(page)).tasksFailed, 0, "tasksFailed");
      // hello.wasm and the rootfs were fetched from storage and announced.
      await waitFor("file set of 2", async () => providersByName(await api.state())[TAB]?.files === 2, 10_000);
    });

    await report.check("cancel: Connect-Timeout-Ms and an aborted request stop running tasks; the workers are replaced", async () => {
      const long = (tag) => ({ info: { reference: tag }, params: { binary: { ref: "fib.wasm" }, args: ["fib", "rec", "50"] } });
      // Warm-up: the tab fetches and compiles fib.wasm now. Otherwise a cancel can arrive while
      // the module is still being fetched or compiled; the page then answers without ever
      // posting the task to a worker (correctly: nothing to terminate), and fewer workers are
      // replaced than this check expects.
      const warm = await api.runJob(
        { info: { reference: "warm-up" }, parent: { binary: { ref: "fib.wasm" } }, tasks: [{ args: ["fib", "iter", "10"] }, { args: ["fib", "iter", "11"] }] },
        { timeoutMs: 60_000 },
      );
      expectEqual(warm.tasks.map((t) => t.ok?.status), [0, 0], "warm-up exit statuses");
      const timed = api.runTask(long("timeout"), { timeoutMs: 20_000 }).then(
        (r) => ({ ok: r }),
        (e) => ({ err: e }),
      );
      const abort = new AbortController();
      const aborted = api.runTask(long("abort"), { timeoutMs: 120_000, signal: abort.signal }).then(
        (r) => ({ ok: r }),
        (e) => ({ err: e }),
      );
      await waitInPage(page, () => window.wasimoff.busy === 2, undefined, 15_000);
      const workers = { ...page.webWorkers };
      abort.abort();
      const a = await aborted;
      if (a.err?.name !== "AbortError") throw new Error(`aborted request: ${JSON.stringify(a)}`);
      await waitInPage(page, () => window.wasimoff.busy === 1 && window.wasimoff.tasksFailed === 1, undefined, 15_000);
      await waitFor("Broker frees the slot", async () => providersByName(await api.state())[TAB]?.active === 1, 15_000);
      const t = await timed;
      if (!(t.err instanceof ConnectError) || t.err.code !== "deadline_exceeded" || t.err.status !== 504) {
        throw new Error(`timed-out request: ${t.err?.message ?? JSON.stringify(t.ok).slice(0, 200)}`);
      }
      await waitInPage(page, () => window.wasimoff.busy === 0 && window.wasimoff.tasksFailed === 2, undefined, 15_000);
      await waitFor("Broker frees both slots", async () => providersByName(await api.state())[TAB]?.active === 0, 15_000);
      expectEqual((await pageStatus(page)).workers, 2, "workers after the replacement");
      // Chromium saw both busy workers terminated and two new ones started.
      await waitFor("worker replacement", () => page.webWorkers.closed === workers.closed + 2 && page.webWorkers.started === workers.started + 2, 10_000).catch((e) => {
        throw new Error(`${e.message}: Web Workers before the cancels ${JSON.stringify(workers)}, now ${JSON.stringify(page.webWorkers)}`);
      });
      expectEqual(await page.getByTestId("worker-grid").locator("li").count(), 2, "worker indicators");
    });

    await report.check("the replaced workers run the next tasks (two at once)", async () => {
      const next = await api.runJob(
        { info: { reference: "after-cancel" }, parent: { binary: { ref: "fib.wasm" } }, tasks: [{ args: ["fib", "rec", "25"] }, { args: ["fib", "iter", "90"] }] },
        { timeoutMs: 30_000 },
      );
      const out = next.tasks.map((t) => [t.info.provider, t.ok?.status, Buffer.from(t.ok?.stdout ?? "", "base64").toString()]);
      expectEqual(out, [
        [TAB, 0, "fib(25) = 75025\n"],
        [TAB, 0, "fib(90) = 2880067194370816120\n"],
      ]);
    });

    await report.check("the tab answers the Broker's Ping (round-trip average in /debug/state)", async () => {
      // The Broker pings every 5 s (docs/protocol.md §8 step 5); the tab has been connected for
      // longer.
      const p = await waitFor("ping average", async () => {
        const t = providersByName(await api.state())[TAB];
        return t?.ping_ms !== null && t?.ping_ms !== undefined && t;
      }, 15_000);
      if (!(p.ping_ms >= 0)) throw new Error(`ping_ms ${p.ping_ms}`);
    });

    await report.check("screenshot: the page shows the connected state, the transport and the task count", async () => {
      const done = TASKS + 4; // the job, the fib warm-up and the two tasks after the cancels
      await waitInPage(page, (n) => window.wasimoff.tasksDone === n, done, 10_000);
      const label = expectedTransport === "webtransport" ? "WebTransport" : "WebSocket";
      const conn = (await page.getByTestId("conn-state").textContent()).replace(/\s+/g, " ").trim();
      expectEqual(conn, `Connected via ${label}`, "connection state");
      expectEqual((await page.getByTestId("transport").textContent()).trim(), label, "transport");
      expectEqual((await page.getByTestId("tasks-done").textContent()).trim(), String(done), "tasks done");
      expectEqual((await page.getByTestId("tasks-failed").textContent()).trim(), "2", "tasks failed");
      await page.screenshot({ path: join(dir, `connected-${mode}.png`), fullPage: true });
      console.log(`  screenshot: ${join(dir, `connected-${mode}.png`)}`);
    });

    await report.check("disconnect: the Broker sees a normal close and unregisters the tab", async () => {
      const from = broker.child.lineCount;
      await page.getByTestId("connect").click();
      await waitInPage(page, () => window.wasimoff.state === "disconnected", undefined, 20_000);
      // docs/protocol.md §7: CLOSE_WEBTRANSPORT_SESSION code 0 "bye!"; §6: WebSocket 1000 "bye!".
      const code = expectedTransport === "webtransport" ? 0 : 1000;
      await broker.child.waitLine(new RegExp(`provider ${TAB} \\(.*\\) disconnected: peer closed: ${code} bye!`), 10_000, from);
      expectEqual((await api.state()).providers, [], "providers");
      const m = await api.metrics();
      expectEqual([m["wasimoff_connected_providers"], m['wasimoff_available_workers{type="providers"}']], [0, 0]);
      // The page reports what its transport saw: WebTransport's closed promise carries our own
      // code and reason, a WebSocket close event the Broker's echo (1000, no reason).
      const log = await page.getByTestId("log").textContent();
      if (!log.includes("connection closed: 1000")) throw new Error(`page log: …${log.slice(-300)}`);
    });

    await report.check("no uncaught page errors", () => expectEqual(page.errors, []));
  });
} catch (e) {
  await report.check("test run", () => {
    throw e;
  });
} finally {
  await browser?.close().catch(() => {});
  await native?.stop();
  if (broker) {
    const code = await broker.stop();
    await report.check("Broker shuts down cleanly (exit 0)", () => expectEqual(code, 0, "exit code"));
  }
  report.finish();
}
