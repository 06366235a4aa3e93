import { create, isMessage, type Message } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { FileStore, MemoryBackend, type Fetcher } from "../src/lib/filestore";
import { Messenger } from "../src/lib/messenger";
import {
  EnvelopeSchema,
  Envelope_MessageType,
  Event_FileSystemUpdateSchema,
  ProviderCapabilitiesSchema,
  Event_ProviderResourcesSchema,
  FileSchema,
  Filesystem_Download_RequestSchema,
  Filesystem_Listing_RequestSchema,
  Filesystem_Probe_RequestSchema,
  Filesystem_Upload_RequestSchema,
  PingSchema,
  Task_CancelSchema,
  Task_MetadataSchema,
  Task_Pyodide_RequestSchema,
  Task_QoSSchema,
  Task_TraceSchema,
  Task_Wasip1_ParamsSchema,
  Task_Wasip1_RequestSchema,
  pack,
  unpack,
  type Envelope,
  type ProviderCapabilities,
  type Task_Wasip1_Response,
} from "../src/lib/proto";
import { DEFAULT_MEMORY_LIMIT } from "../src/lib/capabilities";
import { fetchBrokerConfig } from "../src/lib/connection";
import { Provider } from "../src/lib/provider";
import { refOf } from "../src/lib/sha256";
import { WorkerPool } from "../src/lib/worker_pool";
import { InProcessWorker } from "./fake_worker";
import { MemoryTransport, wasm } from "./helpers";

const HELLO_REF = "sha256:d30064518ea7d977b0247647450b4f9c84ec151b15d7a9d6f7a608789bda5fd3";

/** A fake Broker on the other end of an in-memory connection. */
class Harness {
  broker: MemoryTransport;
  provider: Provider;
  pool: WorkerPool;
  store: FileStore;
  backend = new MemoryBackend();
  fetches: string[] = [];
  events: Message[] = [];
  finished: { ok: boolean; detail: string }[] = [];
  private seq = 0n;
  private waiting = new Map<bigint, (e: Envelope) => void>();

  constructor(files: Record<string, Uint8Array> = {}, workers = 2) {
    const [p, b] = MemoryTransport.pair();
    this.broker = b;
    const fetcher: Fetcher = async (ref) => {
      this.fetches.push(ref);
      await new Promise((r) => setTimeout(r, 5));
      const data = files[ref];
      if (!data) throw new Error("status 404");
      return data;
    };
    this.store = new FileStore(this.backend, 1 << 20, {
      added: (refs) => this.provider?.filesChanged(refs, []),
      removed: (refs) => this.provider?.filesChanged([], refs),
    });
    this.pool = new WorkerPool(() => new InProcessWorker(), () => this.provider?.announceResources());
    this.provider = new Provider(this.pool, this.store, fetcher, {
      log: () => {},
      taskFinished: (ok, _id, _ms, detail) => this.finished.push({ ok, detail }),
      cluster: () => {},
      throughput: () => {},
    });
    const m = new Messenger(p, { onRequest: (x) => this.provider.handleRequest(x), onEvent: (x) => this.provider.handleEvent(x) });
    this.provider.attach(m);
    void m.run();
    void this.readLoop();
    this.pool.resize(workers);
  }

  private async readLoop() {
    for (;;) {
      const env = await this.broker.receive();
      if (!env) return;
      if (env.type === Envelope_MessageType.Event) {
        const u = unpack(env.payload!);
        if (u.kind === "ok") this.events.push(u.message);
      } else if (env.type === Envelope_MessageType.Response) {
        this.waiting.get(env.sequence!)?.(env);
      }
    }
  }

  /** Sends a Request and resolves with the raw Response Envelope. */
  call(msg: Message): Promise<Envelope> {
    const seq = ++this.seq;
    return new Promise((resolve) => {
      this.waiting.set(seq, resolve);
      void this.broker.send(create(EnvelopeSchema, { sequence: seq, type: Envelope_MessageType.Request, payload: pack(msg) }));
    });
  }

  async task(params: Parameters<typeof create<typeof Task_Wasip1_ParamsSchema>>[1], extra: Parameters<typeof create<typeof Task_Wasip1_RequestSchema>>[1] = {}) {
    const env = await this.call(create(Task_Wasip1_RequestSchema, { params: create(Task_Wasip1_ParamsSchema, params), ...extra }));
    if (env.error) return { envelopeError: env.error, code: env.code };
    const u = unpack(env.payload!);
    if (u.kind !== "ok") throw new Error("bad response");
    return { res: u.message as Task_Wasip1_Response };
  }

  close() {
    this.pool.dispose();
    this.broker.close(1000, "bye!");
  }
}

let h: Harness | undefined;
afterEach(() => h?.close());

const dec = (b?: Uint8Array) => new TextDecoder().decode(b);

describe("Provider (protocol.md §9)", () => {
  it("runs a task whose binary is fetched once from storage and then cached", async () => {
    h = new Harness({ [HELLO_REF]: wasm("hello") });
    const info = create(Task_MetadataSchema, { id: "t-1", reference: "r" });
    const [a, b] = await Promise.all([
      h.task({ binary: create(FileSchema, { ref: HELLO_REF }), args: ["hello.wasm"] }, { info }),
      h.task({ binary: create(FileSchema, { ref: HELLO_REF }) }),
    ]);
    for (const r of [a, b]) {
      expect(r.res?.result.case).toBe("ok");
      if (r.res?.result.case === "ok") {
        expect(r.res.result.value.status).toBe(7);
        expect(dec(r.res.result.value.stdout)).toBe("hello from WAT\n");
      }
    }
    expect(a.res?.info).toMatchObject({ id: "t-1", reference: "r" });
    expect(h.fetches).toEqual([HELLO_REF]); // concurrent requests share one download
    await h.task({ binary: create(FileSchema, { ref: HELLO_REF }) });
    expect(h.fetches).toHaveLength(1);
    const updates = h.events.filter((e) => e.$typeName === Event_FileSystemUpdateSchema.typeName);
    expect(updates).toEqual([expect.objectContaining({ added: [HELLO_REF] })]);
    expect(h.finished.every((f) => f.ok)).toBe(true);
  });

  it("runs a cached compiled module without reading its binary again, while the file is held", async () => {
    h = new Harness({ [HELLO_REF]: wasm("hello") });
    const first = await h.task({ binary: create(FileSchema, { ref: HELLO_REF }) });
    expect(first.res?.result.case).toBe("ok");
    const reads = vi.spyOn(h.backend, "read");
    const again = await h.task({ binary: create(FileSchema, { ref: HELLO_REF.toUpperCase().replace("SHA256:", "sha256:") }) });
    expect(again.res?.result.case === "ok" && dec(again.res.result.value.stdout)).toBe("hello from WAT\n");
    expect(reads).not.toHaveBeenCalled();
    expect(h.fetches).toEqual([HELLO_REF]);
    // Once the file was evicted the module cache is not trusted: the binary is obtained again.
    await h.store.put(new Uint8Array(1 << 20).fill(9));
    expect(h.store.has(HELLO_REF)).toBe(false);
    const evicted = await h.task({ binary: create(FileSchema, { ref: HELLO_REF }) });
    expect(evicted.res?.result.case === "ok" && evicted.res.result.value.status).toBe(7);
    expect(h.fetches).toEqual([HELLO_REF, HELLO_REF]);
  });

  it("limits a task's output to the Broker's message size minus 1 MiB", async () => {
    h = new Harness();
    const echo = (bytes: number) =>
      h!.task({ binary: create(FileSchema, { blob: wasm("echo") }), stdin: new Uint8Array(bytes).fill(65) });
    expect(h.provider.outputLimit).toBe(63 * 2 ** 20);
    h.provider.setMessageLimit(2 ** 20); // the smallest WASIMOFF_MAX_MESSAGE_SIZE
    expect(h.provider.outputLimit).toBe(2 ** 19);
    const big = await echo(600_000);
    expect(big.res?.result).toEqual({ case: "error", value: "output too large" });
    const small = await echo(400_000);
    expect(small.res?.result.case === "ok" && small.res.result.value.stderr?.length).toBe(400_000);
    h.provider.setMessageLimit(undefined); // a Broker that does not say: the default
    expect(h.provider.outputLimit).toBe(63 * 2 ** 20);
  });

  it("fails the call as a whole when the binary cannot be obtained", async () => {
    h = new Harness({});
    const missing = "sha256:" + "0".repeat(64);
    const r = await h.task({ binary: create(FileSchema, { ref: missing }) });
    expect(r.envelopeError).toBe(`binary not found in storage: ${missing}`);
    expect(r.code).toBe("unavailable"); // as the native provider: the Broker tries elsewhere
    expect(h.pool.busy).toBe(0);
  });

  it("fails the call with the rootfs text when the rootfs cannot be obtained", async () => {
    h = new Harness({});
    const r = await h.task({ binary: create(FileSchema, { blob: wasm("hello") }), rootfs: create(FileSchema, { ref: "sha256:" + "2".repeat(64) }) });
    expect(r.envelopeError).toBe(`rootfs not found in storage: sha256:${"2".repeat(64)}`);
    expect(r.code).toBe("unavailable");
  });

  it("uses inline blobs and stores them under their ref", async () => {
    h = new Harness({});
    const r = await h.task({ binary: create(FileSchema, { blob: wasm("echo") }), args: ["a", "b"] });
    expect(r.res?.result.case === "ok" && dec(r.res.result.value.stdout)).toBe("a\nb\n");
    expect(h.store.refs()).toEqual([await refOf(wasm("echo"))]);
  });

  it("appends trace events 31–37 when tracing was requested", async () => {
    h = new Harness({});
    const info = create(Task_MetadataSchema, { id: "tr", trace: create(Task_TraceSchema, { created: 1n }) });
    const r = await h.task({ binary: create(FileSchema, { blob: wasm("hello") }) }, { info });
    const kinds = r.res?.info?.trace?.events.map((e) => e.event);
    expect(kinds).toEqual([31, 32, 33, 34, 35, 36, 37]);
  });

  it("cancels a running task: the Cancel is echoed and the task answers task canceled", async () => {
    h = new Harness({}, 1);
    const info = create(Task_MetadataSchema, { id: "loop-1" });
    const running = h.task({ binary: create(FileSchema, { blob: wasm("loop") }), args: ["hang"] }, { info });
    while (h.pool.busy === 0 || !h.pool.slotOf("loop-1")) await new Promise((r) => setTimeout(r, 5));
    const cancel = await h.call(create(Task_CancelSchema, { id: "loop-1", reason: "context canceled" }));
    const echoed = unpack(cancel.payload!);
    expect(echoed.kind === "ok" && echoed.message).toMatchObject({ id: "loop-1", reason: "context canceled" });
    const r = await running;
    expect(r.res?.result).toEqual({ case: "error", value: "task canceled: context canceled" });
    expect(h.pool.size).toBe(1);
    expect(h.pool.busy).toBe(0);
    // Unknown ids are answered the same way.
    const again = await h.call(create(Task_CancelSchema, { id: "nope", reason: "x" }));
    expect(again.error).toBeUndefined();
  });

  it("kills tasks at their deadline and refuses tasks whose deadline passed", async () => {
    h = new Harness({}, 1);
    const soon = create(Task_QoSSchema, { deadline: timestampFromMs(Date.now() + 100) });
    const r = await h.task({ binary: create(FileSchema, { blob: wasm("loop") }), args: ["hang"] }, { qos: soon });
    expect(r.res?.result).toEqual({ case: "error", value: "deadline exceeded" });
    const past = create(Task_QoSSchema, { deadline: timestampFromMs(Date.now() - 1) });
    const p = await h.task({ binary: create(FileSchema, { blob: wasm("hello") }) }, { qos: past });
    expect(p.res?.result).toEqual({ case: "error", value: "deadline exceeded" });
  });

  it("answers immediate tasks without an idle worker with the qos error", async () => {
    h = new Harness({}, 1);
    const stuck = h.task({ binary: create(FileSchema, { blob: wasm("loop") }), args: ["hang"] }, { info: create(Task_MetadataSchema, { id: "s" }) });
    while (h.pool.busy === 0) await new Promise((r) => setTimeout(r, 5));
    const r = await h.task({ binary: create(FileSchema, { blob: wasm("hello") }) }, { qos: create(Task_QoSSchema, { immediate: true }) });
    expect(r.res?.result).toEqual({ case: "error", value: "qos: no idle workers for immediate mode" });
    h.provider.cancel("s", "done");
    await stuck;
  });

  it("serves Listing, Probe, Upload (with hash check) and Ping; refuses the rest", async () => {
    h = new Harness({});
    const up = await h.call(create(Filesystem_Upload_RequestSchema, { upload: create(FileSchema, { blob: wasm("hello") }) }));
    const u = unpack(up.payload!);
    expect(u.kind === "ok" && u.message).toMatchObject({ ref: HELLO_REF });
    const bad = await h.call(create(Filesystem_Upload_RequestSchema, { upload: create(FileSchema, { ref: "sha256:" + "f".repeat(64), blob: wasm("hello") }) }));
    expect([bad.error, bad.code]).toEqual(["hash mismatch", "invalid_argument"]);
    const empty = await h.call(create(Filesystem_Upload_RequestSchema, { upload: create(FileSchema, { ref: HELLO_REF }) }));
    expect([empty.error, empty.code]).toEqual(["upload without blob", "invalid_argument"]);
    const list = unpack((await h.call(create(Filesystem_Listing_RequestSchema))).payload!);
    expect(list.kind === "ok" && list.message).toMatchObject({ files: [HELLO_REF] });
    const probe = unpack((await h.call(create(Filesystem_Probe_RequestSchema, { file: HELLO_REF.toUpperCase().replace("SHA256", "sha256") }))).payload!);
    expect(probe.kind === "ok" && probe.message).toMatchObject({ ok: true });
    const probe2 = unpack((await h.call(create(Filesystem_Probe_RequestSchema, { file: "sha256:" + "e".repeat(64) }))).payload!);
    expect(probe2.kind === "ok" && probe2.message).toMatchObject({ ok: false });
    expect(unpack((await h.call(create(PingSchema))).payload!).kind).toBe("ok");
    for (const refused of [create(Task_Pyodide_RequestSchema), create(Filesystem_Download_RequestSchema, { file: "x" })]) {
      const r = await h.call(refused);
      expect([r.error, r.code]).toEqual(["not implemented", "unimplemented"]);
    }
  });

  it("fails an upload the cache cannot store with its text and the code internal", async () => {
    h = new Harness({});
    h.backend.write = async () => {
      throw new Error("QuotaExceededError: the quota has been exceeded");
    };
    const r = await h.call(create(Filesystem_Upload_RequestSchema, { upload: create(FileSchema, { blob: wasm("hello") }) }));
    expect([r.error, r.code]).toEqual(["QuotaExceededError: the quota has been exceeded", "internal"]);
  });

  it("announces ProviderResources with both fields whenever the pool changes", async () => {
    h = new Harness({}, 2);
    h.pool.resize(3);
    await new Promise((r) => setTimeout(r, 10));
    const res = h.events.filter((e) => e.$typeName === Event_ProviderResourcesSchema.typeName) as { concurrency?: number; tasks?: number }[];
    expect(res.length).toBeGreaterThanOrEqual(2);
    expect(res[res.length - 1]).toMatchObject({ concurrency: 3, tasks: 0 });
    expect(res.every((r) => r.concurrency !== undefined && r.tasks !== undefined)).toBe(true);
  });
});

describe("discovery document", () => {
  afterEach(() => vi.unstubAllGlobals());
  const serve = (body: unknown) =>
    vi.stubGlobal("fetch", async () => new Response(JSON.stringify(body), { status: 200 }));

  it("reads the Broker's maxMessageSize and ignores values outside 1 MiB – 1 GiB", async () => {
    serve({ transport: "https://b:4443/transport", maxMessageSize: 8 * 2 ** 20 });
    expect(await fetchBrokerConfig("http://b/config")).toEqual({
      transport: "https://b:4443/transport",
      certhash: undefined,
      maxMessageSize: 8 * 2 ** 20,
      capabilities: false,
    });
    for (const bad of [0, 1024, 2 ** 31, "64MiB", null]) {
      serve({ maxMessageSize: bad });
      expect((await fetchBrokerConfig("http://b/config")).maxMessageSize).toBeUndefined();
    }
  });

  it("reads whether the Broker understands ProviderCapabilities (only a literal true)", async () => {
    serve({ capabilities: true });
    expect((await fetchBrokerConfig("http://b/config")).capabilities).toBe(true);
    for (const other of [false, "true", 1, null]) {
      serve({ capabilities: other });
      expect((await fetchBrokerConfig("http://b/config")).capabilities).toBe(false);
    }
  });
});

describe("ProviderCapabilities (scheduling.md §3)", () => {
  const capabilityEvents = (x: Harness) => x.events.filter((e) => isMessage(e, ProviderCapabilitiesSchema));

  it("is not sent to a Broker that did not ask for it (wasimoff v1 closes on unknown Events)", async () => {
    h = new Harness();
    h.provider.announceCapabilities();
    await new Promise((r) => setTimeout(r, 20));
    expect(capabilityEvents(h)).toHaveLength(0);
  });

  it("announces both WASI module names, no Pyodide and the memory limit", async () => {
    h = new Harness();
    h.provider.setBrokerCapabilities(true);
    h.provider.announceCapabilities();
    const x = h;
    await vi.waitFor(() => expect(capabilityEvents(x)).toHaveLength(1));
    const c = capabilityEvents(h)[0] as ProviderCapabilities;
    expect(c.wasi).toEqual(["wasi_snapshot_preview1", "wasi_unstable"]);
    expect(c.pyodide).toBe(false);
    expect(c.memory).toBe(BigInt(DEFAULT_MEMORY_LIMIT));
  });

  it("answers a module it cannot run with the `unsupported module:` prefix the Broker recognises", async () => {
    h = new Harness();
    const r = await h.task({ binary: { blob: new TextEncoder().encode("\0asm-not-really") }, args: ["x"] });
    // The task's own failure, as in the native provider: no Envelope error (hence no code).
    expect(r.envelopeError).toBeUndefined();
    const error = r.res?.result.case === "error" ? r.res.result.value : undefined;
    expect(error).toMatch(/^unsupported module: /);
  });
});
