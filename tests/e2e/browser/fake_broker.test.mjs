// End-to-end test of the provider page in Chromium against a fake Broker (fake_broker.mjs): the
// page connects over WebSocket (JSON codec), answers Listing/Ping, runs WASI tasks in its Web
// Workers (fetching binaries from storage), cancels, meets deadlines, and leaves cleanly.
// Usage: node fake_broker.test.mjs --dist <build>/web/dist --out <dir for the screenshot>
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Reporter, expectEqual, launchBrowser, parseArgs, waitInPage, withDeadline } from "./driver.mjs";
import { refOf, startFakeBroker } from "./fake_broker.mjs";
import { readZipEntries, storedZip } from "./zip_util.mjs";

const args = parseArgs();
const fixtures = JSON.parse(readFileSync(new URL("../../../web/test/fixtures/wasm.json", import.meta.url), "utf8"));
const wasm = Object.fromEntries(Object.entries(fixtures).map(([k, v]) => [k, Buffer.from(v, "base64")]));
// Envelope byte vectors (hex) by name: docs/protocol.md §5 and the page's answers.
const wireVectors = JSON.parse(readFileSync(new URL("../../data/wire_vectors.json", import.meta.url), "utf8")).vectors;
const vector = (name) => {
  const v = wireVectors.find((x) => x.name === name);
  if (!v) throw new Error(`no wire vector named "${name}" in tests/data/wire_vectors.json`);
  return v.hex;
};
const HELLO = refOf(wasm.hello);
const b64 = (s) => Buffer.from(s).toString("base64");
const text = (b) => Buffer.from(b ?? "", "base64").toString();

const report = new Reporter("browser-fake-broker");
const broker = await startFakeBroker({ root: args.dist, files: new Map([[HELLO, wasm.hello]]) });
let browser;

/** Runs a Task.Wasip1.Request; returns the Response Envelope. */
function task(s, id, params, extra = {}) {
  return s.request("Task.Wasip1.Request", { info: { id }, params, ...extra });
}

try {
  await withDeadline(150_000, async () => {
    browser = await launchBrowser();
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const errors = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${broker.url}/#autoconnect=yes&workers=2&verbose=yes&id=e2e-tab`, { timeout: 30_000 });
    const s = await broker.nextSession();

    await report.check("connects to /api/provider/ws?id=<id> with the JSON subprotocol", () => {
      expectEqual(s.url, "/api/provider/ws?id=e2e-tab");
      expectEqual(s.ws.protocol, "wasimoff_provider_v1_json");
    });
    await report.check("first message: ProviderResources{concurrency:2, tasks:0} as Event 1", async () => {
      const first = await s.waitEvent(() => true);
      expectEqual(first, { sequence: "1", type: "Event", payload: { "@type": "wasimoff/wasimoff.v1.Event.ProviderResources", concurrency: 2, tasks: 0 } });
    });
    await report.check("answers Filesystem.Listing with an empty list, and Ping", async () => {
      const l = await s.request("Filesystem.Listing.Request", {}, 10_000);
      expectEqual(l.payload, { "@type": "wasimoff/wasimoff.v1.Filesystem.Listing.Response" });
      const p = await s.request("Ping", {}, 10_000);
      expectEqual([p.type, p.payload["@type"]], ["Response", "wasimoff/wasimoff.v1.Ping"]);
    });
    await report.check("shows cluster size and throughput from Broker events", async () => {
      s.sendEvent("Event.ClusterInfo", { providers: 3 });
      s.sendEvent("Event.Throughput", { overall: 12.5, yours: 2.5 });
      await waitInPage(page, () => window.wasimoff.providers === 3 && window.wasimoff.connected && window.wasimoff.transport === "websocket");
      const cluster = await page.getByTestId("cluster").textContent();
      if (!/Broker has 3 connected providers/.test(cluster)) throw new Error(cluster);
      expectEqual((await page.getByTestId("throughput").textContent()).trim(), "12.5");
    });
    await report.check("runs the reference module fetched from storage: exit 7, stdout", async () => {
      const r = await task(s, "t-hello", { binary: { ref: HELLO }, args: ["hello.wasm"] });
      expectEqual(r.error, undefined, "envelope error");
      expectEqual([r.payload.info.id, r.payload.ok.status, text(r.payload.ok.stdout)], ["t-hello", 7, "hello from WAT\n"]);
      await s.waitEvent((e) => e.payload["@type"].endsWith("FileSystemUpdate") && e.payload.added?.[0] === HELLO, 5000);
      expectEqual(broker.storageHits, [HELLO], "storage downloads");
    });
    await report.check("second run uses the cache (no new download)", async () => {
      const r = await task(s, "t-hello-2", { binary: { ref: HELLO } });
      expectEqual(r.payload.ok.status, 7);
      expectEqual(broker.storageHits.length, 1);
    });
    await report.check("inline binary with argv, env and stdin", async () => {
      const r = await task(s, "t-echo", { binary: { blob: wasm.echo.toString("base64") }, args: ["echo", "ü"], envs: ["A=1"], stdin: b64("in!") });
      expectEqual([r.payload.ok.status, text(r.payload.ok.stdout), text(r.payload.ok.stderr)], [0, "echo\nü\nA=1\n", "in!"]);
    });
    await report.check("poll_oneoff sleeps in the worker (Atomics.wait) and wakes", async () => {
      const r = await task(s, "t-sleep", { binary: { blob: wasm.sleep.toString("base64") } });
      expectEqual([r.payload.ok?.status, text(r.payload.ok?.stdout)], [1, "woke\n"]);
    });
    await report.check("traps are reported with the spec text", async () => {
      const r = await task(s, "t-trap", { binary: { blob: wasm.trap.toString("base64") } });
      expectEqual(r.payload.error, "trap: unreachable executed\nabout to trap\n");
    });
    await report.check("rootfs in, artifacts out", async () => {
      const rootfs = storedZip({ "in.txt": "payload" });
      const r = await task(s, "t-files", { binary: { blob: wasm.files.toString("base64") }, rootfs: { blob: rootfs.toString("base64") }, artifacts: ["/out"] });
      expectEqual(r.payload.ok?.status, 0, "status");
      expectEqual(r.payload.ok.artifacts.media, "application/zip");
      const files = readZipEntries(Buffer.from(r.payload.ok.artifacts.blob, "base64"));
      expectEqual(Object.keys(files).sort(), ["out/", "out/copy.txt"]);
      expectEqual(files["out/copy.txt"].toString(), "payload!\n");
    });
    await report.check("Task.Cancel terminates the worker; both calls are answered", async () => {
      const running = task(s, "t-loop", { binary: { blob: wasm.loop.toString("base64") } });
      await waitInPage(page, () => window.wasimoff.busy === 1);
      const c = await s.request("Task.Cancel", { id: "t-loop", reason: "context canceled" }, 10_000);
      expectEqual(c.payload, { "@type": "wasimoff/wasimoff.v1.Task.Cancel", id: "t-loop", reason: "context canceled" });
      const r = await running;
      expectEqual(r.payload.error, "task canceled: context canceled");
      await waitInPage(page, () => window.wasimoff.busy === 0 && window.wasimoff.workers === 2);
    });
    await report.check("deadline kills a running task", async () => {
      const deadline = new Date(Date.now() + 500).toISOString();
      const r = await task(s, "t-deadline", { binary: { blob: wasm.loop.toString("base64") } }, { qos: { deadline } });
      expectEqual(r.payload.error, "deadline exceeded");
    });
    await report.check("missing binary fails the call: binary not found in storage", async () => {
      const ref = "sha256:" + "0".repeat(64);
      const r = await task(s, "t-missing", { binary: { ref } });
      expectEqual([r.error, r.payload], [`binary not found in storage: ${ref}`, undefined]);
    });
    await report.check("Pyodide and unknown requests: not implemented", async () => {
      expectEqual((await s.request("Task.Pyodide.Request", { params: { script: "1" } }, 10_000)).error, "not implemented");
      expectEqual((await s.request("Filesystem.Download.Request", { file: "x" }, 10_000)).error, "not implemented");
      expectEqual((await s.request("Some.Future.Thing", {}, 10_000)).error, "not implemented");
    });
    await report.check("Listing now holds the downloaded and inline binaries", async () => {
      const l = await s.request("Filesystem.Listing.Request", {}, 10_000);
      const want = [HELLO, refOf(wasm.echo), refOf(wasm.sleep), refOf(wasm.trap), refOf(wasm.files), refOf(wasm.loop)].sort();
      expectEqual([...l.payload.files].sort(), want);
    });
    await report.check("status object counts tasks done and failed", async () => {
      const st = await page.evaluate(() => [window.wasimoff.tasksDone, window.wasimoff.tasksFailed]);
      expectEqual(st, [5, 4]); // done: hello ×2, echo, sleep, files; failed: trap, cancel, deadline, missing
    });
    await report.check("screenshot of the connected page saved", async () => {
      s.sendEvent("Event.Throughput", { overall: 20, yours: 8 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: join(args.out, "fake-broker.png"), fullPage: true });
    });
    await report.check("disconnect: announces concurrency 0, then closes with 1000 bye!", async () => {
      const from = s.events.length;
      await page.getByTestId("connect").click();
      await s.waitEvent((e) => e.payload["@type"].endsWith("ProviderResources") && e.payload.concurrency === 0, 10_000, from);
      const closed = await s.closed;
      expectEqual(closed, { code: 1000, reason: "bye!" });
      await waitInPage(page, () => window.wasimoff.state === "disconnected");
    });
    await report.check("binary subprotocol: protobuf ProviderResources first, Listing and Ping answered", async () => {
      const pb = await startFakeBroker({ root: args.dist, codec: "protobuf" });
      const ctx = await browser.newContext();
      try {
        const p = await ctx.newPage();
        await p.goto(`${pb.url}/#workers=1&id=pb`, { timeout: 30_000 });
        const b = await pb.nextSession();
        expectEqual(b.ws.protocol, "wasimoff_provider_v1_protobuf");
        // Event 1, ProviderResources{concurrency: 1, tasks: 0}
        expectEqual(await b.waitBinary(() => true), vector("browser resources"), "first message");
        // docs/protocol.md §5 vector 1 (Listing.Request seq 1) and vector 3 (Ping seq 2)
        b.sendBinary(vector("listing request"));
        b.sendBinary(vector("ping"));
        const listing = vector("listing response");
        await b.waitBinary((m) => m === listing, 10_000);
        const pong = vector("ping response");
        await b.waitBinary((m) => m === pong, 10_000);
        await waitInPage(p, () => window.wasimoff.connected);
      } finally {
        await ctx.close();
        await pb.close();
      }
    });
    await report.check("no uncaught page errors", () => expectEqual(errors, []));
  });
} catch (e) {
  await report.check("test run", () => {
    throw e;
  });
} finally {
  await browser?.close().catch(() => {});
  await broker.close();
  report.finish();
}
