// Throughput of one browser tab with 2 workers against the real Broker, next to the native
// provider with 2 workers in the same run (BENCHMARKS.md, section "Browser provider").
//
//   node tests/e2e/broker/bench.mjs --broker-bin build/release/src/broker/wasimoff-broker \
//     --provider-bin build/release/src/provider/wasimoff-provider --examples build/release/examples \
//     --dist build/release/web/dist --out build/release/tests/e2e/broker [--tasks 500] [--runs 7]
//
// Workload: RunWasip1Job of N `hello.wasm <i>` tasks (no rootfs, no stdin; each task prints ~200
// bytes). Each provider first runs a 20-task warm-up job (fetch + compile), then `runs` timed jobs,
// alone in the cluster. tasks/s = N / wall time of the RunWasip1Job call as the client sees it;
// the median and the best run are printed (on a shared, loaded machine the runs vary a lot).
// The Broker runs with WASIMOFF_DEBUG=false (its debug log writes lines per task).
import { loadavg } from "node:os";
import { parseArgs, readExample, runDir } from "./args.mjs";
import { BrokerApi } from "./broker_api.mjs";
import { launchChromium, openProviderPage, waitInPage } from "./browser.mjs";
import { startBroker, startNativeProvider, waitFor } from "./cluster.mjs";
import { tasksPerProvider } from "./workload.mjs";

const args = parseArgs();
const N = Number(args.tasks ?? 500);
const RUNS = Number(args.runs ?? 7);
const dir = runDir(args.out, "bench");

function job(n, reference) {
  return {
    info: { reference },
    parent: { binary: { ref: "hello.wasm" } },
    tasks: Array.from({ length: n }, (_, i) => ({ args: ["hello.wasm", String(i)] })),
  };
}

const connected = async (api, n) => (await api.metrics())["wasimoff_connected_providers"] === n;

/** Warm-up, then RUNS timed jobs; every task must have run on `provider` with exit status 0. */
async function measure(api, provider) {
  await api.runJob(job(20, "warm-up"));
  const rates = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    const res = await api.runJob(job(N, `bench-${r}`), { timeoutMs: 600_000 });
    const secs = (performance.now() - t0) / 1000;
    const per = tasksPerProvider(res);
    if (per[provider] !== N) throw new Error(`tasks per provider ${JSON.stringify(per)}`);
    const bad = res.tasks.find((t) => t.ok?.status !== 0);
    if (bad) throw new Error(`a task failed: ${JSON.stringify(bad).slice(0, 300)}`);
    rates.push(N / secs);
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], rates };
}

const fmt = ({ median, rates }) =>
  `median ${median.toFixed(0)} tasks/s, best ${Math.max(...rates).toFixed(0)} (runs: ${rates.map((r) => r.toFixed(0)).join(", ")})`;

let broker, native, browser;
try {
  console.log(`load average before: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  broker = await startBroker({ bin: args["broker-bin"], dist: args.dist, dir, env: { WASIMOFF_DEBUG: "false" } });
  const api = new BrokerApi(broker.url);
  await api.upload("hello.wasm", readExample(args, "hello.wasm"));

  native = startNativeProvider({ bin: args["provider-bin"], broker: broker.url, dir, name: "native", workers: 2 });
  await waitFor("native provider registered", () => connected(api, 1), 30_000);
  console.log(`native provider, 2 workers, ${N}-task hello job: ${fmt(await measure(api, "native"))}`);
  await native.stop();
  native = undefined;
  await waitFor("native provider gone", () => connected(api, 0), 15_000);

  browser = await launchChromium();
  for (const mode of ["webtransport", "websocket"]) {
    const tab = `bench-${mode}`;
    const { context, page } = await openProviderPage(browser, broker.url, `autoconnect=yes&workers=2&id=${tab}&mode=${mode}`);
    await waitInPage(page, (m) => window.wasimoff.connected && window.wasimoff.transport === m, mode, 30_000);
    await waitFor("tab registered", () => connected(api, 1), 15_000);
    console.log(`browser tab (${mode}), 2 workers, ${N}-task hello job: ${fmt(await measure(api, tab))}`);
    await context.close();
    await waitFor("tab gone", () => connected(api, 0), 15_000);
  }
  console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(" ")}`);
} finally {
  await browser?.close().catch(() => {});
  await native?.stop();
  await broker?.stop();
}
