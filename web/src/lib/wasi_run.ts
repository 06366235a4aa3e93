// Runs one WASI preview 1 command module to completion (docs/provider-internals.md §1, §4): builds
// the file descriptors (0 = stdin, 1/2 = capture buffers, 3 = preopened "/" from the rootfs ZIP),
// offers the imports under "wasi_snapshot_preview1" and "wasi_unstable", instantiates (with retries
// when the browser is momentarily out of Wasm memory), calls _start and collects exit status,
// output and artifacts.
//
// Synchronous on purpose: it runs inside a dedicated Web Worker (task_worker.ts), where blocking
// is fine and cancellation is worker.terminate(). It also runs under Node for the unit tests.
import {
  ConsoleStdout,
  Directory,
  File,
  OpenFile,
  PreopenDirectory,
  WASI,
  type Inode,
} from "@bjorn3/browser_wasi_shim";
import { DEFAULT_MEMORY_LIMIT, WASI_MODULES } from "./capabilities";
import { ERRORS, LIMITS } from "../gen/contract";
import { DEFAULT_FS_LIMIT, ZipError, normalizeArtifactPath, readZip, writeZip, type ArchiveEntry } from "./zip";

export interface RunParams {
  module: WebAssembly.Module;
  args: string[];
  envs: string[];
  stdin?: Uint8Array;
  rootfs?: Uint8Array;
  artifacts: string[];
  /** Absolute deadline (ms since epoch); sleeps in poll_oneoff never go beyond it. */
  deadline?: number;
  /** stdout + stderr + artifacts must fit (default 63 MiB). */
  outputLimit?: number;
  /** Expanded rootfs size limit (default 256 MiB). */
  fsLimit?: number;
  /** Linear memory limit checked after instantiation (default 1 GiB). */
  memoryLimit?: number;
}

export interface RunOutput {
  status: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  /** ZIP of the requested artifacts; undefined when none were requested. */
  artifacts?: Uint8Array;
}

export type RunResult = { ok: RunOutput } | { error: string };

export interface RunHooks {
  /** Files unpacked and instance created: about to execute (trace event 34 → 35). */
  prepared?(): void;
  executing?(): void;
}

export const DEFAULT_OUTPUT_LIMIT: number = LIMITS.maxMessageSizeDefault - LIMITS.outputHeadroom;
export { DEFAULT_MEMORY_LIMIT, WASI_MODULES };

// errno values (wasi/api.h)
const ERRNO_SUCCESS = 0;
const ERRNO_FAULT = 21;
const ERRNO_INVAL = 28;
const ERRNO_NOSYS = 52;
const ERRNO_NOTSUP = 58;
const ERRNO_PERM = 63;

/**
 * Blocks the calling thread for `ms` milliseconds: Atomics.wait on a private SharedArrayBuffer
 * (cross-origin isolated pages and Node), else a bounded busy wait.
 */
export function sleepSync(ms: number): void {
  if (!(ms > 0)) return;
  if (typeof SharedArrayBuffer === "function") {
    try {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
      return;
    } catch {
      // Atomics.wait is not allowed on this thread; fall through.
    }
  }
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy wait: only without cross-origin isolation */
  }
}

/**
 * Maps engine error texts (V8, SpiderMonkey, JavaScriptCore) to the texts of
 * docs/provider-internals.md §1.2.
 */
export function trapText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const m = msg.toLowerCase();
  if (e instanceof RangeError && /call stack|too much recursion/.test(m)) return "trap: call stack exhausted";
  if (/too much recursion|call stack size/.test(m)) return "trap: call stack exhausted";
  if (/memory access out of bounds|out of bounds memory|index out of bounds|table index is out of bounds|out of bounds table/.test(m))
    return "trap: out of bounds memory access";
  if (/unreachable/.test(m)) return "trap: unreachable executed";
  if (/divide by zero|remainder by zero|division by zero/.test(m)) return "trap: integer divide by zero";
  if (/integer overflow|divide result unrepresentable/.test(m)) return "trap: integer overflow";
  if (/float unrepresentable|invalid conversion to integer|float-to-int/.test(m)) return "trap: invalid conversion to integer";
  if (/signature mismatch|null function|indirect call/.test(m)) return "trap: indirect call type mismatch";
  return `trap: ${msg}`;
}

/**
 * Checks the module shape (docs/provider-internals.md §1 "module"); returns the problem or
 * undefined.
 */
export function checkModule(module: WebAssembly.Module): string | undefined {
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!WASI_MODULES.includes(imp.module)) return `import from unknown module "${imp.module}" (${imp.name})`;
    if (imp.kind !== "function") return `import ${imp.module}.${imp.name} is a ${imp.kind}, not a function`;
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === "_start" && e.kind === "function")) return "no exported function _start (not a command module)";
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) return "no exported memory";
  return undefined;
}

/** Collects stdout/stderr in chunks; stops storing (but keeps counting) beyond the limit. */
class Capture {
  chunks: Uint8Array[] = [];
  size = 0;
  constructor(private readonly budget: Budget) {}
  write = (data: Uint8Array) => {
    this.size += data.length;
    if (data.length > this.budget.left) {
      this.budget.overflow = true;
      this.budget.left = 0;
      return;
    }
    this.budget.left -= data.length;
    this.chunks.push(data);
  };
  bytes(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of this.chunks) out.set(c, o), (o += c.length);
    return out;
  }
}

/** Builds the preopen tree from a rootfs ZIP (throws ZipError). */
export function buildTree(rootfs: Uint8Array | undefined, fsLimit: number): Map<string, Inode> {
  const root = new Map<string, Inode>();
  if (!rootfs || rootfs.length === 0) return root;
  const dirOf = (parts: string[]): Map<string, Inode> => {
    let cur = root;
    let curDir: Directory | null = null; // null = the root (its Directory is made by PreopenDirectory)
    for (const p of parts) {
      let next = cur.get(p);
      if (next === undefined) {
        next = new Directory(new Map());
        // The shim links parents only for the initial contents of a Directory.
        (next as unknown as { parent: Directory | null }).parent = curDir;
        cur.set(p, next);
      }
      if (!(next instanceof Directory)) throw new ZipError(`"${parts.join("/")}" is both a file and a directory`);
      curDir = next;
      cur = next.contents;
    }
    return cur;
  };
  for (const e of readZip(rootfs, fsLimit)) {
    const parts = e.path.split("/");
    if (e.dir) {
      dirOf(parts);
    } else {
      const parent = dirOf(parts.slice(0, -1));
      const name = parts[parts.length - 1];
      if (parent.get(name) instanceof Directory) throw new ZipError(`"${e.path}" is both a file and a directory`);
      parent.set(name, new File(e.data));
    }
  }
  return root;
}

/** Walks `root` and collects the requested artifact paths (files, and directories recursively). */
export function collectArtifacts(root: Directory, paths: string[]): ArchiveEntry[] {
  const out: ArchiveEntry[] = [];
  const seen = new Set<string>();
  const add = (path: string, node: Inode) => {
    if (seen.has(path)) return;
    seen.add(path);
    if (node instanceof File) {
      out.push({ path, dir: false, data: node.data });
    } else if (node instanceof Directory) {
      if (path !== "") out.push({ path, dir: true });
      for (const [name, child] of [...node.contents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        add(path === "" ? name : `${path}/${name}`, child);
    }
  };
  for (const raw of paths) {
    const path = normalizeArtifactPath(raw);
    if (path === undefined) continue; // outside the tree: skipped like a missing path
    let node: Inode | undefined = root;
    for (const seg of path === "" ? [] : path.split("/")) {
      node = node instanceof Directory ? node.contents.get(seg) : undefined;
      if (!node) break;
    }
    if (node) add(path, node);
  }
  return out;
}

function utf8Sizes(items: string[]): { bytes: Uint8Array[]; total: number } {
  const enc = new TextEncoder();
  const bytes = items.map((s) => enc.encode(s));
  return { bytes, total: bytes.reduce((n, b) => n + b.length + 1, 0) };
}

/** Output budget shared by stdout, stderr and the artifact archive. */
type Budget = { left: number; overflow: boolean };

/** Executes the task; never throws for guest behaviour (traps, bad modules): returns { error }. */
export function runWasip1(p: RunParams, hooks: RunHooks = {}): RunResult {
  const problem = checkModule(p.module);
  if (problem) return { error: `unsupported module: ${problem}` };

  let tree: Map<string, Inode>;
  try {
    tree = buildTree(p.rootfs, p.fsLimit ?? DEFAULT_FS_LIMIT);
  } catch (e) {
    if (e instanceof ZipError) return { error: `rootfs: ${e.message}` };
    throw e;
  }

  const budget: Budget = { left: p.outputLimit ?? DEFAULT_OUTPUT_LIMIT, overflow: false };
  const stdout = new Capture(budget);
  const stderr = new Capture(budget);
  const preopen = new PreopenDirectory("/", tree);
  const fds = [
    new OpenFile(new File(p.stdin ?? new Uint8Array(0), { readonly: true })),
    new ConsoleStdout(stdout.write),
    new ConsoleStdout(stderr.write),
    preopen,
  ];
  const wasi = new WASI(p.args, p.envs, fds, { debug: false });
  adjustImports(wasi, p);

  const instance = instantiate(p.module, wasi.wasiImport);
  if ("error" in instance) return instance;
  const memory = instance.exports.memory as WebAssembly.Memory;
  if (memory.buffer.byteLength > (p.memoryLimit ?? DEFAULT_MEMORY_LIMIT)) return { error: ERRORS.memoryLimitExceeded };
  hooks.prepared?.();

  hooks.executing?.();
  let status: number;
  try {
    status = wasi.start(instance as unknown as { exports: { memory: WebAssembly.Memory; _start: () => unknown } }) | 0;
  } catch (e) {
    let text = trapText(e);
    const tail = stderr.bytes();
    if (tail.length > 0) text += "\n" + new TextDecoder().decode(tail.subarray(Math.max(0, tail.length - 1024)));
    return { error: text };
  }

  const artifacts = archiveArtifacts(preopen, p.artifacts, budget);
  if ("error" in artifacts) return artifacts;
  if (budget.overflow) return { error: ERRORS.outputTooLarge };
  return { ok: { status, stdout: stdout.bytes(), stderr: stderr.bytes(), artifacts: artifacts.zip } };
}

/**
 * Our changes to the shim's imports: byte counts for the argument and environment sizes, the
 * stubs of docs/provider-internals.md §3.5, and poll_oneoff with the task's deadline.
 */
function adjustImports(wasi: WASI, p: RunParams): void {
  const imports = wasi.wasiImport;
  const mem = () => new DataView(wasi.inst.exports.memory.buffer);

  // The shim counts UTF-16 code units for the buffer sizes but writes UTF-8: use byte counts.
  const args = utf8Sizes(p.args);
  const envs = utf8Sizes(p.envs);
  imports.args_sizes_get = (argc: number, size: number) => {
    mem().setUint32(argc, p.args.length, true);
    mem().setUint32(size, args.total, true);
    return ERRNO_SUCCESS;
  };
  imports.environ_sizes_get = (count: number, size: number) => {
    mem().setUint32(count, p.envs.length, true);
    mem().setUint32(size, envs.total, true);
    return ERRNO_SUCCESS;
  };
  // Stubs per docs/provider-internals.md §3.5 instead of the shim's exceptions.
  for (const f of ["sock_accept", "sock_recv", "sock_send", "sock_shutdown"]) imports[f] = () => ERRNO_NOTSUP;
  imports.proc_raise = () => ERRNO_NOSYS;
  imports.path_symlink = () => ERRNO_PERM;
  imports.poll_oneoff = (inPtr: number, outPtr: number, nsubs: number, neventsPtr: number) =>
    pollOneoff(mem(), inPtr, outPtr, nsubs, neventsPtr, p.deadline);
}

/**
 * Instantiates the module with the imports under every WASI module name. An out-of-memory error
 * (other workers hold the address space) is retried with back-off before it is reported.
 */
function instantiate(module: WebAssembly.Module, imports: WASI["wasiImport"]): WebAssembly.Instance | { error: string } {
  const importObject = Object.fromEntries(WASI_MODULES.map((m) => [m, imports]));
  for (let attempt = 0; ; attempt++) {
    try {
      return new WebAssembly.Instance(module, importObject as WebAssembly.Imports);
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      if (/out of memory/i.test(msg) && attempt < 10) {
        sleepSync(2 ** attempt);
        continue;
      }
      if (/out of memory/i.test(msg)) return { error: ERRORS.memoryLimitExceeded };
      if (e instanceof WebAssembly.LinkError) return { error: `unsupported module: ${msg}` };
      return { error: trapText(e) }; // a start function or data segment trapped
    }
  }
}

/** The requested artifacts as a ZIP archive (none when none were requested), within the budget. */
function archiveArtifacts(preopen: PreopenDirectory, paths: string[], budget: Budget): { zip?: Uint8Array } | { error: string } {
  if (paths.length === 0) return {};
  const entries = collectArtifacts(preopen.dir, paths);
  const size = entries.reduce((n, e) => n + (e.data?.length ?? 0), 0);
  if (size > budget.left) return { error: ERRORS.outputTooLarge };
  const zip = writeZip(entries);
  if (zip.length > budget.left) return { error: ERRORS.outputTooLarge };
  return { zip };
}

/**
 * poll_oneoff (docs/provider-internals.md §4): fd subscriptions are ready at once; otherwise sleep
 * until the earliest clock subscription expires (never beyond the deadline) and report the expired
 * clocks. Layouts: subscription 48 bytes, event 32 bytes (wasi/api.h).
 */
export function pollOneoff(
  view: DataView,
  inPtr: number,
  outPtr: number,
  nsubs: number,
  neventsPtr: number,
  deadline?: number,
  sleep: (ms: number) => void = sleepSync,
): number {
  if (nsubs === 0) return ERRNO_INVAL;
  if (inPtr + nsubs * 48 > view.byteLength || outPtr + nsubs * 32 > view.byteLength || neventsPtr + 4 > view.byteLength)
    return ERRNO_FAULT;
  const nowNs = (clock: number): bigint =>
    clock === 0 ? BigInt(Date.now()) * 1_000_000n : BigInt(Math.round(performance.now() * 1e6));
  interface Sub {
    userdata: bigint;
    tag: number;
    wakeNs?: bigint; // clocks: remaining ns until expiry
  }
  const subs: Sub[] = [];
  for (let i = 0; i < nsubs; i++) {
    const s = inPtr + i * 48;
    const userdata = view.getBigUint64(s, true);
    const tag = view.getUint8(s + 8);
    if (tag === 0) {
      const clock = view.getUint32(s + 16, true);
      if (clock > 3) return ERRNO_INVAL;
      const timeout = view.getBigUint64(s + 24, true);
      const abs = (view.getUint16(s + 40, true) & 1) !== 0;
      const base = clock === 0 || clock === 1 ? nowNs(clock) : 0n;
      const remaining = abs ? timeout - base : timeout;
      subs.push({ userdata, tag, wakeNs: remaining > 0n ? remaining : 0n });
    } else {
      subs.push({ userdata, tag });
    }
  }
  const fdReady = subs.some((s) => s.tag !== 0);
  let slept = 0n;
  if (!fdReady) {
    const min = subs.reduce((m, s) => (s.wakeNs! < m ? s.wakeNs! : m), subs[0].wakeNs!);
    let ms = Number(min / 1_000_000n) + (min % 1_000_000n > 0n ? 1 : 0);
    if (deadline !== undefined) ms = Math.max(0, Math.min(ms, deadline - Date.now()));
    sleep(ms);
    slept = min;
  }
  let n = 0;
  for (const s of subs) {
    const ready = s.tag !== 0 || (!fdReady && s.wakeNs! <= slept);
    if (!ready) continue;
    const e = outPtr + n * 32;
    for (let b = 0; b < 32; b++) view.setUint8(e + b, 0);
    view.setBigUint64(e, s.userdata, true);
    view.setUint16(e + 8, 0, true);
    view.setUint8(e + 10, s.tag);
    n++;
  }
  view.setUint32(neventsPtr, n, true);
  return ERRNO_SUCCESS;
}
