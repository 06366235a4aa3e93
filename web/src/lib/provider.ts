// The provider's side of the protocol (docs/protocol.md §9): answers the Broker's Requests,
// executes Task.Wasip1 requests on the worker pool, and announces resources and file-cache
// changes.
// One Provider lives for the whole page; it is attached to a Messenger while connected.
import { create, type Message } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { LruCache } from "./lru";
import { CallError, NOT_IMPLEMENTED, errorText, type Messenger } from "./messenger";
import {
  Event_ClusterInfoSchema,
  Event_FileSystemUpdateSchema,
  Event_GenericMessageSchema,
  ProviderCapabilitiesSchema,
  Event_ProviderResourcesSchema,
  Event_ThroughputSchema,
  FileSchema,
  Filesystem_Listing_RequestSchema,
  Filesystem_Listing_ResponseSchema,
  Filesystem_Probe_RequestSchema,
  Filesystem_Probe_ResponseSchema,
  Filesystem_Upload_RequestSchema,
  Filesystem_Upload_ResponseSchema,
  PingSchema,
  Task_CancelSchema,
  Task_Pyodide_RequestSchema,
  Task_TraceEventSchema,
  Task_TraceEvent_EventType as Ev,
  Task_Wasip1_OutputSchema,
  Task_Wasip1_RequestSchema,
  Task_Wasip1_ResponseSchema,
  isMessage,
  type ProviderCapabilities,
  type Event_ProviderResources,
  type File as PbFile,
  type Task_Metadata,
  type Task_Wasip1_Request,
  type Task_Wasip1_Response,
} from "./proto";
import { HashMismatchError, type Fetcher, type FileStore } from "./filestore";
import { normalizeRef, refOf } from "./sha256";
import { WorkerKilledError, type Slot, type WorkerPool } from "./worker_pool";
import { unixNanoNow, type RunMessage } from "./worker_protocol";
import { DEFAULT_MEMORY_LIMIT, WASI_MODULES } from "./capabilities";
import { LIMITS } from "../gen/contract";

export interface ProviderHooks {
  log(level: "debug" | "info" | "warn" | "error", text: string): void;
  /** One finished Task.Wasip1 request: ok = answered with an Output. */
  taskFinished(ok: boolean, id: string, ms: number, detail: string): void;
  cluster(providers: number): void;
  throughput(overall: number, yours: number): void;
}

/** How long a task may wait for a worker when none is idle (only while shrinking the pool). */
const ACQUIRE_TIMEOUT_MS = 60_000;

interface Running {
  slot?: Slot;
  canceled?: string;
  timer?: ReturnType<typeof setTimeout>;
}

/** WASIMOFF_MAX_MESSAGE_SIZE's default, assumed when the Broker does not announce its limit. */
export const DEFAULT_MESSAGE_LIMIT: number = LIMITS.maxMessageSizeDefault;

export class Provider {
  private messenger: Messenger | undefined;
  private readonly modules = new LruCache<string, WebAssembly.Module>(64, 30 * 60_000);
  private readonly compiling = new Map<string, Promise<WebAssembly.Module>>();
  private readonly running = new Map<string, Running>();
  private localIds = 0;
  private lastResources = "";
  private messageLimit = DEFAULT_MESSAGE_LIMIT;
  private brokerTakesCapabilities = false;
  verbose = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly store: FileStore,
    private fetcher: Fetcher,
    private readonly hooks: ProviderHooks,
  ) {}

  setFetcher(f: Fetcher): void {
    this.fetcher = f;
  }

  /**
   * The largest message the Broker accepts (its discovery document's `maxMessageSize`). A task's
   * stdout, stderr and artifacts must fit into it with 1 MiB to spare; more is `output too
   * large`, never a message the Broker would refuse (it closes the connection for those).
   */
  setMessageLimit(bytes: number | undefined): void {
    this.messageLimit = bytes ?? DEFAULT_MESSAGE_LIMIT;
  }

  /** The output limit of a task under the current message limit. */
  get outputLimit(): number {
    const headroom = LIMITS.outputHeadroom;
    return this.messageLimit > 2 * headroom ? this.messageLimit - headroom : Math.floor(this.messageLimit / 2);
  }

  /**
   * Whether the Broker's discovery document says `"capabilities": true`: only then is
   * ProviderCapabilities sent (a wasimoff v1 Broker closes the connection on an unknown Event).
   */
  setBrokerCapabilities(understood: boolean): void {
    this.brokerTakesCapabilities = understood;
  }

  /**
   * What the page can run (docs/scheduling.md §3): its WASI modules, no Pyodide, its memory
   * limit.
   */
  capabilities(): ProviderCapabilities {
    return create(ProviderCapabilitiesSchema, {
      wasi: [...WASI_MODULES],
      pyodide: false,
      memory: BigInt(DEFAULT_MEMORY_LIMIT),
    });
  }

  /** Sends ProviderCapabilities once per connection, right after the first ProviderResources. */
  announceCapabilities(): void {
    if (this.brokerTakesCapabilities) this.send(this.capabilities());
  }

  /** ProviderResources with both fields set (docs/protocol.md §9). */
  resources(): Event_ProviderResources {
    return create(Event_ProviderResourcesSchema, { concurrency: this.pool.size, tasks: this.pool.busy });
  }

  /**
   * Starts sending Events on `m`. `announced` = the ProviderResources already sent on this
   * connection (WebTransport writes it while opening the stream), so it is not repeated.
   */
  attach(m: Messenger, announced?: Event_ProviderResources): void {
    this.messenger = m;
    this.lastResources = announced ? `${announced.concurrency}/${announced.tasks}` : "";
  }

  detach(): void {
    this.messenger = undefined;
  }

  /** Call whenever pool size or busy count may have changed; sends only actual changes. */
  announceResources(): void {
    const r = this.resources();
    const key = `${r.concurrency}/${r.tasks}`;
    if (!this.messenger || key === this.lastResources) return;
    this.lastResources = key;
    this.send(r);
  }

  filesChanged(added: string[], removed: string[]): void {
    this.send(create(Event_FileSystemUpdateSchema, { added, removed }));
  }

  /** Number of tasks currently accepted (downloading, waiting or running). */
  get active(): number {
    return this.running.size;
  }

  /** Cancels every running task (used when leaving after the grace period). */
  cancelAll(reason: string): void {
    for (const id of [...this.running.keys()]) this.cancel(id, reason);
  }

  private send(ev: Message): void {
    const m = this.messenger;
    if (!m) return;
    m.sendEvent(ev).catch((e) => this.hooks.log("debug", `event not sent: ${errorText(e)}`));
  }

  handleEvent(msg: Message): void {
    if (isMessage(msg, Event_ClusterInfoSchema)) {
      this.hooks.cluster(msg.providers ?? 0);
    } else if (isMessage(msg, Event_ThroughputSchema)) {
      this.hooks.throughput(msg.overall ?? 0, msg.yours ?? 0);
    } else if (isMessage(msg, Event_GenericMessageSchema)) {
      this.hooks.log("info", `broker: ${msg.message ?? ""}`);
    } else {
      this.hooks.log("debug", `event ${msg.$typeName} ignored`);
    }
  }

  async handleRequest(msg: Message): Promise<Message> {
    if (isMessage(msg, PingSchema)) return create(PingSchema);
    if (isMessage(msg, Task_Wasip1_RequestSchema)) return this.runWasip1(msg);
    if (isMessage(msg, Task_CancelSchema)) {
      this.cancel(msg.id ?? "", msg.reason ?? "");
      return create(Task_CancelSchema, { id: msg.id, reason: msg.reason });
    }
    if (isMessage(msg, Filesystem_Listing_RequestSchema)) {
      return create(Filesystem_Listing_ResponseSchema, { files: this.store.refs() });
    }
    if (isMessage(msg, Filesystem_Probe_RequestSchema)) {
      return create(Filesystem_Probe_ResponseSchema, { ok: this.store.has(msg.file ?? "") });
    }
    if (isMessage(msg, Filesystem_Upload_RequestSchema)) {
      const blob = msg.upload?.blob;
      if (!blob) throw new CallError("invalid_argument", "upload without blob");
      let ref: string;
      try {
        ref = await this.store.put(blob, msg.upload?.ref);
      } catch (e) {
        if (e instanceof HashMismatchError) throw new CallError("invalid_argument", e.message);
        this.hooks.log("warn", `upload from the broker not stored: ${errorText(e)}`);
        throw new CallError("internal", errorText(e));
      }
      return create(Filesystem_Upload_ResponseSchema, { ref });
    }
    // Neither of our providers runs Pyodide (docs/protocol.md §9).
    if (isMessage(msg, Task_Pyodide_RequestSchema)) throw new CallError("unimplemented", NOT_IMPLEMENTED);
    throw new CallError("unimplemented", NOT_IMPLEMENTED);
  }

  /** Stops the task with this id; unknown ids are fine (idempotent). */
  cancel(id: string, reason: string): void {
    const r = this.running.get(id);
    if (!r || r.canceled) return;
    r.canceled = `task canceled: ${reason}`;
    if (r.slot && r.slot.busy && r.slot.task === id) this.pool.kill(r.slot, r.canceled);
    this.hooks.log("info", `task ${id} canceled (${reason})`);
  }

  private async runWasip1(req: Task_Wasip1_Request): Promise<Task_Wasip1_Response> {
    const task = this.taskRecord(req);
    const deadline = req.qos?.deadline ? timestampMs(req.qos.deadline) : undefined;
    const admitted = this.admit(task.id, req, deadline);
    if ("error" in admitted) return task.respond(admitted);
    const run = admitted.run;
    try {
      return task.respond(await this.runAdmitted(task, req, run, deadline));
    } finally {
      if (run.timer) clearTimeout(run.timer);
      this.running.delete(task.id);
    }
  }

  /** The id of a task, its trace marks and the builder of its Response (which reports the end). */
  private taskRecord(req: Task_Wasip1_Request): TaskRecord {
    const started = performance.now();
    const info: Task_Metadata | undefined = req.info;
    const trace = info?.trace;
    const mark = (event: Ev, details?: string) => {
      trace?.events.push(create(Task_TraceEventSchema, { unixnano: unixNanoNow(), event, details }));
    };
    mark(Ev.ProviderTaskReceived);
    const id = info?.id ?? `local-${++this.localIds}`;
    const respond = (r: Outcome) => {
      const res = create(Task_Wasip1_ResponseSchema, { info });
      if ("error" in r) {
        res.result = { case: "error", value: r.error };
        mark(Ev.ProviderError, r.error);
      } else {
        res.result = { case: "ok", value: create(Task_Wasip1_OutputSchema, r.ok) };
      }
      mark(Ev.ProviderTransmitResult);
      const ms = performance.now() - started;
      const detail = "error" in r ? r.error : `exit ${r.ok.status}`;
      this.hooks.taskFinished(!("error" in r), id, ms, detail);
      if (this.verbose) this.hooks.log("info", `task ${id}: ${detail.split("\n")[0]} (${ms.toFixed(0)} ms)`);
      return res;
    };
    const failed = (e: unknown) => {
      mark(Ev.ProviderError, errorText(e));
      this.hooks.taskFinished(false, id, performance.now() - started, errorText(e));
    };
    return { id, trace, mark, respond, failed };
  }

  /** Registers a task as running (with its deadline timer), or says why it cannot start. */
  private admit(id: string, req: Task_Wasip1_Request, deadline: number | undefined): { run: Running } | { error: string } {
    if (this.running.has(id)) return { error: `task ${id} is already running here` };
    if (deadline !== undefined && deadline <= Date.now()) return { error: "deadline exceeded" };
    let slot: Slot | undefined;
    if (req.qos?.immediate) {
      slot = this.pool.tryAcquire();
      if (!slot) return { error: "qos: no idle workers for immediate mode" };
    }
    const run: Running = { slot };
    this.running.set(id, run);
    if (deadline !== undefined) {
      run.timer = setTimeout(() => this.expire(id), deadline - Date.now());
    }
    return { run };
  }

  /** Worker, inputs, then the run itself, for a task admitted as `run`. */
  private async runAdmitted(task: TaskRecord, req: Task_Wasip1_Request, run: Running, deadline: number | undefined): Promise<Outcome> {
    const acquired = await this.slotFor(run);
    if ("error" in acquired) return acquired;
    const slot = acquired.slot;
    task.mark(Ev.ProviderGetWorker);

    const params = req.params;
    const inputs = await this.prepareInputs(task, slot, params);
    if ("error" in inputs) return inputs;
    const stop = run.canceled ?? (deadline !== undefined && deadline <= Date.now() ? "deadline exceeded" : undefined);
    if (stop !== undefined) {
      this.pool.release(slot);
      return { error: stop };
    }
    return this.execute(task, slot, {
      type: "run",
      task: task.id,
      module: inputs.module,
      args: params?.args ?? [],
      envs: params?.envs ?? [],
      stdin: params?.stdin,
      rootfs: inputs.rootfs,
      artifacts: params?.artifacts ?? [],
      deadline,
      outputLimit: this.outputLimit,
    });
  }

  /** The task's worker: the one taken for immediate mode, or the next free one. */
  private async slotFor(run: Running): Promise<{ slot: Slot } | { error: string }> {
    if (run.slot) return { slot: run.slot };
    let slot: Slot;
    try {
      slot = await this.pool.acquire(ACQUIRE_TIMEOUT_MS);
    } catch (e) {
      return { error: `no worker available: ${errorText(e)}` };
    }
    run.slot = slot;
    if (run.canceled) {
      this.pool.release(slot);
      return { error: run.canceled };
    }
    return { slot };
  }

  /**
   * The compiled module and the rootfs of a task; on failure the slot is released. A file that
   * cannot be obtained throws (CallError "unavailable": an Envelope-level failure, the Broker
   * retries elsewhere). A module that does not compile is the task's own failure
   * ("unsupported module: …" in its Response, no Envelope error), as in the native provider.
   */
  private async prepareInputs(
    task: TaskRecord,
    slot: Slot,
    params: Task_Wasip1_Request["params"],
  ): Promise<{ module: WebAssembly.Module; rootfs?: Uint8Array } | { error: string }> {
    // A cached compiled module needs no read of the binary: reading it from OPFS for every
    // task cost more main-thread time than running a small task.
    const cached = this.cachedModule(params?.binary);
    try {
      const bin = cached ? undefined : await this.resolveFile(params?.binary, "binary");
      if (!cached && !bin) {
        this.pool.release(slot);
        return { error: "unsupported module: task has no binary" };
      }
      const rootfs = (await this.resolveFile(params?.rootfs, "rootfs"))?.data;
      const module =
        cached ??
        (await this.compile(bin!.ref, bin!.data).catch((e) => {
          throw new ModuleError(`unsupported module: ${errorText(e)}`);
        }));
      return { module, rootfs };
    } catch (e) {
      this.pool.release(slot);
      if (e instanceof ModuleError) return { error: e.message };
      task.failed(e);
      throw e;
    }
  }

  /** Runs the task in its worker and turns the worker's result into the task's outcome. */
  private async execute(task: TaskRecord, slot: Slot, msg: RunMessage): Promise<Outcome> {
    task.mark(Ev.ProviderPostToWorker);
    let result;
    try {
      result = await this.pool.run(slot, msg);
    } catch (e) {
      if (e instanceof WorkerKilledError) return { error: e.message };
      return { error: `worker crashed: ${errorText(e)}` };
    }
    if (task.trace) {
      task.trace.events.push(
        create(Task_TraceEventSchema, { unixnano: BigInt(result.times.prepare), event: Ev.ProviderWorkerPrepare }),
        create(Task_TraceEventSchema, { unixnano: BigInt(result.times.execute), event: Ev.ProviderWorkerExecute }),
        create(Task_TraceEventSchema, { unixnano: BigInt(result.times.done), event: Ev.ProviderWorkerDone }),
      );
    }
    const r = result.result;
    if ("error" in r) return { error: r.error };
    return {
      ok: {
        status: r.ok.status,
        stdout: r.ok.stdout,
        stderr: r.ok.stderr,
        artifacts: r.ok.artifacts ? create(FileSchema, { media: "application/zip", blob: r.ok.artifacts }) : undefined,
      },
    };
  }

  private expire(id: string): void {
    const r = this.running.get(id);
    if (!r || r.canceled) return;
    r.canceled = "deadline exceeded";
    if (r.slot && r.slot.busy && r.slot.task === id) this.pool.kill(r.slot, r.canceled);
  }

  /**
   * Inline blob (stored under its ref so the compiled module is reused) or a cached/fetched ref.
   * Throws CallError("unavailable", "<what> not found in storage: <ref>") when a ref cannot be
   * obtained.
   */
  private async resolveFile(f: PbFile | undefined, what: "binary" | "rootfs"): Promise<{ ref: string; data: Uint8Array } | undefined> {
    if (!f) return undefined;
    if (f.blob && f.blob.length > 0) {
      const blob = f.blob;
      // Inline binaries are cached so their compiled module is reused; inline rootfs archives
      // are usually unique per task and would only crowd out useful files.
      if (what === "rootfs") return { ref: "", data: blob };
      const ref = await this.store.put(blob).catch((e) => {
        this.hooks.log("warn", `inline ${what} not cached: ${errorText(e)}`);
        return refOf(blob);
      });
      return { ref, data: blob };
    }
    if (!f.ref) return undefined;
    try {
      return await this.store.obtain(f.ref, this.fetcher);
    } catch (e) {
      this.hooks.log("warn", `${what} ${f.ref}: ${errorText(e)}`);
      throw new CallError("unavailable", `${what} not found in storage: ${f.ref}`);
    }
  }

  /** The cached compiled module of a binary given by ref, if the store still holds that file. */
  private cachedModule(f: PbFile | undefined): WebAssembly.Module | undefined {
    if (!f || (f.blob && f.blob.length > 0) || !f.ref) return undefined;
    const key = normalizeRef(f.ref);
    if (key === undefined || !this.store.use(key)) return undefined;
    return this.modules.get(key);
  }

  /** Compiled module for `ref`, from the LRU cache or compiled once (single-flight). */
  private compile(ref: string, data: Uint8Array): Promise<WebAssembly.Module> {
    const key = normalizeRef(ref) ?? ref;
    const hit = this.modules.get(key);
    if (hit) return Promise.resolve(hit);
    let p = this.compiling.get(key);
    if (!p) {
      p = WebAssembly.compile(data as Uint8Array<ArrayBuffer>)
        .then((m) => {
          this.modules.set(key, m);
          return m;
        })
        .finally(() => this.compiling.delete(key));
      this.compiling.set(key, p);
    }
    return p;
  }
}

class ModuleError extends Error {}

/** One task while it runs: see Provider.taskRecord. */
interface TaskRecord {
  id: string;
  trace: Task_Metadata["trace"];
  mark(event: Ev, details?: string): void;
  respond(r: Outcome): Task_Wasip1_Response;
  /** Reports a task that ends with an exception instead of a Response. */
  failed(e: unknown): void;
}

type Outcome =
  | { error: string }
  | { ok: { status: number; stdout: Uint8Array; stderr: Uint8Array; artifacts?: PbFile } };
