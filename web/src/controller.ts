// Wires the page together: options, identity, file store, worker pool, provider and connection.
// The UI calls the Controller; everything it shows comes from `state`.
import { Connection } from "./lib/connection";
import { FileStore, MemoryBackend, OpfsBackend, storageFetcher } from "./lib/filestore";
import { errorText } from "./lib/messenger";
import type { Options } from "./lib/options";
import { Provider } from "./lib/provider";
import { WorkerPool, type WorkerLike } from "./lib/worker_pool";
import { acquireTabLock, providerId, setWakeLock } from "./identity";
import { addLog, addSample, state } from "./state";

/** Cache caps: OPFS is on disk, the in-memory fallback shares RAM with the tasks. */
const OPFS_CAP = 2 * 1024 * 1024 * 1024;
const MEMORY_CAP = 256 * 1024 * 1024;

export class Controller {
  private pool!: WorkerPool;
  private provider!: Provider;
  private connection!: Connection;

  constructor(private readonly opts: Options) {}

  /** Prepares everything; false when the page must not run (state.fatal says why). */
  async init(): Promise<boolean> {
    const o = this.opts;
    state.verbose = o.verbose;
    state.capacity = Math.max(1, navigator.hardwareConcurrency || 1);
    state.workers = o.workers;
    for (const p of o.problems) addLog("warn", p);

    if (typeof Worker !== "function" || typeof WebAssembly !== "object") {
      state.fatal = "This browser lacks Web Workers or WebAssembly.";
      return false;
    }
    if (!(await acquireTabLock())) {
      state.fatal = "wasimoff is already running in another tab of this browser. Close this tab or the other one.";
      addLog("error", state.fatal);
      return false;
    }
    if (!globalThis.crossOriginIsolated) {
      addLog("warn", "page is not cross-origin isolated: sleeping tasks busy-wait (serve it with COOP/COEP)");
    }
    const backend = (await OpfsBackend.open()) ?? new MemoryBackend();
    const store = new FileStore(backend, backend.name === "OPFS" ? OPFS_CAP : MEMORY_CAP, {
      added: (refs) => {
        state.files = store.refs().length;
        this.provider?.filesChanged(refs, []);
      },
      removed: (refs) => {
        state.files = store.refs().length;
        this.provider?.filesChanged([], refs);
      },
    });
    try {
      await store.init();
    } catch (e) {
      addLog("warn", `file cache listing failed: ${errorText(e)}`);
    }
    state.storage = backend.name;
    state.files = store.refs().length;

    this.pool = new WorkerPool(
      () => new Worker(new URL("./lib/task_worker.ts", import.meta.url), { type: "module", name: "wasimoff-task" }) as WorkerLike,
      (_size, busy) => {
        state.pool = this.pool.view;
        state.busy = busy;
        this.provider?.announceResources();
      },
      (reason) => addLog("error", `workers fail to start (${reason}); check the browser console`),
    );
    this.provider = new Provider(this.pool, store, storageFetcher(o.broker, o.token), {
      log: addLog,
      taskFinished: (ok) => (ok ? state.done++ : state.failed++),
      cluster: (n) => (state.providers = n),
      throughput: (overall, yours) => addSample(overall, yours),
    });
    this.provider.verbose = o.verbose;

    state.id = providerId(o.id);
    this.connection = new Connection(o, state.id, this.provider, {
      state: (s, transport, detail) => {
        state.conn = s;
        state.transport = s === "connected" ? transport : undefined;
        state.connDetail = detail ?? "";
        if (s !== "connected") state.providers = 0;
      },
      log: addLog,
    });
    addLog("info", `provider ${state.id}, broker ${o.broker}, storage ${backend.name}, ${state.capacity} cores`);
    window.addEventListener("pagehide", () => {
      this.connection.closeNow();
      this.pool.dispose();
    });
    return true;
  }

  get connected(): boolean {
    return this.connection.running;
  }

  connect(): void {
    if (this.connection.running) return;
    this.pool.resize(state.workers);
    this.connection.start();
    void setWakeLock(true, (t) => addLog("debug", t));
  }

  /** Disconnect = scale to 0 (announced), let tasks finish briefly, then close normally. */
  async disconnect(): Promise<void> {
    if (!this.connection.running) return;
    this.pool.resize(0);
    await this.connection.stop();
    void setWakeLock(false, () => {});
    addLog("info", "disconnected");
  }

  setWorkers(n: number): void {
    state.workers = Math.max(0, Math.min(state.capacity, Math.floor(n)));
    if (this.connection.running) this.pool.resize(state.workers);
  }

  setVerbose(v: boolean): void {
    state.verbose = v;
    this.provider.verbose = v;
  }
}
