// A mixed cluster: a native provider and a browser tab (WebTransport) registered with the same
// real Broker share one job, and every result equals the native provider's alone. ClusterInfo
// reaches the tab when the cluster grows and shrinks; when either provider leaves, the other one
// takes all the following tasks.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs, readExample, runDir } from "./args.mjs";
import { BrokerApi, providersByName } from "./broker_api.mjs";
import { Reporter, expectEqual, launchChromium, openProviderPage, pageStatus, waitInPage, withDeadline } from "./browser.mjs";
import { startBroker, startNativeProvider, waitFor } from "./cluster.mjs";
import { compareJobs, helloJob, helloRootfs, tasksPerProvider } from "./workload.mjs";

const args = parseArgs();
const TASKS = Number(args.tasks ?? 60);
const TAB = "e2e-mixed-tab";
const dir = runDir(args.out, "mixed-cluster");
const report = new Reporter("browser-broker-mixed");

let broker, native, browser;
try {
  await withDeadline(420_000, async () => {
    broker = await startBroker({ bin: args["broker-bin"], dist: args.dist, dir });
    const api = new BrokerApi(broker.url);
    console.log(`broker ${broker.url}, QUIC port ${broker.quicPort}; logs in ${dir}`);
    await api.upload("hello.wasm", readExample(args, "hello.wasm"));
    await api.upload("fib.wasm", readExample(args, "fib.wasm"));
    await api.upload("e2e-rootfs.zip", helloRootfs());
    // Every third task computes fib(35) recursively (~30 M calls, ~0.1 s) so that the job lasts long enough
    // for the tab, which first fetches and compiles the modules, to take a real share.
    const job = helloJob(TASKS, { reference: "mixed" });
    job.tasks = job.tasks.map((t, i) => (i % 3 === 2 ? { binary: { ref: "fib.wasm" }, args: ["fib", "rec", "35"] } : t));

    native = startNativeProvider({ bin: args["provider-bin"], broker: broker.url, dir, name: "native", workers: 2 });
    await waitFor("native provider registered", async () => providersByName(await api.state()).native?.capacity === 2, 30_000);

    let reference;
    await report.check(`native provider alone: the ${TASKS}-task reference job`, async () => {
      reference = await api.runJob(job, { timeoutMs: 240_000 }); // includes compiling both modules
      expectEqual(tasksPerProvider(reference), { native: TASKS }, "tasks per provider");
      writeFileSync(join(dir, "job-native.json"), JSON.stringify(reference, null, 1));
    });
    if (!reference) throw new Error("no reference results; the remaining checks need them");

    browser = await launchChromium();
    const { page } = await openProviderPage(browser, broker.url, `autoconnect=yes&workers=2&id=${TAB}`);

    await report.check("the tab joins: ClusterInfo says 2 providers; the Broker counts 4 workers", async () => {
      await waitInPage(page, () => window.wasimoff.connected && window.wasimoff.providers === 2, undefined, 30_000);
      expectEqual((await pageStatus(page)).transport, "webtransport", "tab transport");
      const ps = providersByName(await api.state());
      expectEqual(
        [ps.native?.transport, ps.native?.capacity, ps[TAB]?.transport, ps[TAB]?.capacity],
        ["websocket", 2, "webtransport", 2],
        "providers in /debug/state",
      );
      const m = await api.metrics();
      expectEqual([m["wasimoff_connected_providers"], m['wasimoff_available_workers{type="providers"}']], [2, 4]);
      expectEqual((await page.getByTestId("cluster").textContent()).trim(), "Broker has 2 connected providers");
    });

    await report.check(`one ${TASKS}-task job shared by both; every result equals the native-only run`, async () => {
      const shared = await api.runJob(job);
      writeFileSync(join(dir, "job-shared.json"), JSON.stringify(shared, null, 1));
      const per = tasksPerProvider(shared);
      console.log(`  tasks per provider: ${JSON.stringify(per)}`);
      if (!(per.native > 0 && per[TAB] > 0 && per.native + per[TAB] === TASKS)) throw new Error(`tasks per provider ${JSON.stringify(per)}`);
      const diffs = compareJobs(reference, shared);
      if (diffs.length) throw new Error(`results differ:\n     ${diffs.join("\n     ")}`);
      await waitInPage(page, (n) => window.wasimoff.tasksDone === n, per[TAB], 10_000);
      await page.screenshot({ path: join(dir, "mixed-cluster.png"), fullPage: true });
    });

    await report.check("the native provider leaves: the tab sees 1 provider and takes the next job alone", async () => {
      await native.stop();
      native = undefined;
      await waitInPage(page, () => window.wasimoff.providers === 1, undefined, 15_000);
      expectEqual(Object.keys(providersByName(await api.state())), [TAB], "registered providers");
      const small = { info: { reference: "tab-only" }, parent: job.parent, tasks: job.tasks.slice(0, 6) };
      const r = await api.runJob(small, { timeoutMs: 60_000 });
      expectEqual(tasksPerProvider(r), { [TAB]: 6 }, "tasks per provider");
      expectEqual(compareJobs({ tasks: reference.tasks.slice(0, 6) }, r), [], "results");
    });

    await report.check("a native provider rejoins and the tab leaves: the next job runs natively", async () => {
      const storage = join(dir, "native-storage"); // the first provider's compiled modules
      native = startNativeProvider({ bin: args["provider-bin"], broker: broker.url, dir, name: "native2", workers: 2, storage });
      await waitFor("native2 registered", async () => providersByName(await api.state()).native2?.capacity === 2, 30_000);
      await waitInPage(page, () => window.wasimoff.providers === 2, undefined, 15_000);
      await page.getByTestId("connect").click();
      await waitInPage(page, () => window.wasimoff.state === "disconnected", undefined, 20_000);
      await waitFor("tab unregistered", async () => (await api.state()).providers.length === 1, 10_000);
      const small = { info: { reference: "native-only" }, parent: job.parent, tasks: job.tasks.slice(0, 6) };
      const r = await api.runJob(small, { timeoutMs: 60_000 });
      expectEqual(tasksPerProvider(r), { native2: 6 }, "tasks per provider");
      expectEqual(compareJobs({ tasks: reference.tasks.slice(0, 6) }, r), [], "results");
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
