// node-wasi-run.mjs: run one WASI preview 1 command under Node 20's node:wasi with the semantics of
// a wasimoff task (docs/provider-internals.md §1), as the reference side of the differential WASI
// tests. Modules may also import WASI preview 0 (`wasi_unstable`, alone or next to preview 1): see
// preview0Imports below for how those are run.
//
//   node --no-warnings tests/tools/node-wasi-run.mjs <spec.json>
//
// spec.json (the same contract as the native engine's `wasimoff-run`):
//   {"wasm": "/abs/m.wasm", "args": ["m.wasm", "a"], "env": ["K=V"], "stdin": "<base64>"|null,
//    "rootfs": "/abs/rootfs.zip"|null, "artifacts": ["out.txt"], "timeout_ms": n|null,
//    "memory_limit": <bytes>|null}
// Missing keys mean: no args, no env, no stdin, empty rootfs, no artifacts, no time limit, and the
// default memory limit of 1 GiB (docs/provider-internals.md §1.3).
//
// Prints exactly one JSON object on stdout and exits 0:
//   {"status": <int>|null, "stdout": "<base64>", "stderr": "<base64>", "error": "<text>"|null,
//    "artifacts": "<base64 zip>"|null}
// `status` is null exactly when `error` is set (then stdout/stderr are empty, as a failed task has
// no Output). Error texts follow docs/provider-internals.md §1.2 (`trap: …`, `unsupported module:
// …`, `rootfs: …`, `memory limit exceeded`, `task timed out after <d>`, `output too large`). A
// malformed spec or an unreadable wasm/rootfs file is a harness error: message on stderr, exit
// status 2, no JSON.
//
// How: the rootfs ZIP is unpacked into a fresh temp directory by ziptool.py (python3's zipfile,
// with the §1.1 rejections, so no symlink can ever reach node:wasi's preopen); fd 0/1/2 are temp
// files; the guest runs in a worker thread so a time limit can terminate it. The memory limit is
// enforced by rewriting the maximum of the module's memory section, so `memory.grow` beyond the
// limit returns -1 exactly as on the native engine.
//
// Known limits of node:wasi that the differential tests must avoid (documented there): the
// environment is passed as an object, so duplicate keys and entries without '=' cannot be
// represented (reported as an error here); node reports fd 0–2 as regular files (they are temp
// files), unlike the native engine.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WASI } from "node:wasi";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";

const DEFAULT_MEMORY_LIMIT = 1024 * 1024 * 1024; // docs/provider-internals.md §1.3
const FILESYSTEM_LIMIT = 256 * 1024 * 1024; // docs/provider-internals.md §1.3
// stdout + stderr + artifacts together (docs/provider-internals.md §1.3)
const OUTPUT_LIMIT = 63 * 1024 * 1024;
const WASM_PAGE = 65536;
const ZIPTOOL = path.join(path.dirname(fileURLToPath(import.meta.url)), "ziptool.py");

class TaskError extends Error {}

// ---------------------------------------------------------------------------------------------
// Guest side (worker thread): instantiate and run, report {status} or {error}.

function orderedEnv(entries) {
  // node:wasi builds "key=value" from Object.entries(env). A plain object would list integer-like
  // keys first; a Proxy whose ownKeys trap returns our order keeps the order of the spec.
  const target = {};
  const keys = [];
  for (const [key, value] of entries) {
    target[key] = value;
    keys.push(key);
  }
  return new Proxy(target, { ownKeys: () => keys });
}

function trapText(err) {
  if (err instanceof RangeError && /call stack/i.test(err.message)) {
    return "trap: call stack exhausted";
  }
  if (err instanceof WebAssembly.RuntimeError) {
    const m = err.message;
    if (/unreachable/.test(m)) return "trap: unreachable executed";
    if (/memory access out of bounds/.test(m)) return "trap: out of bounds memory access";
    if (/divide by zero|remainder by zero/.test(m)) return "trap: integer divide by zero";
    if (/divide result unrepresentable|integer overflow/.test(m)) return "trap: integer overflow";
    if (/float unrepresentable|invalid conversion/.test(m)) {
      return "trap: invalid conversion to integer";
    }
    if (/signature mismatch|null function|table index is out of bounds/.test(m)) {
      return "trap: indirect call type mismatch";
    }
    return `trap: ${m}`;
  }
  return `internal error: ${err && err.stack ? err.stack : String(err)}`;
}

// WASI preview 0 (`wasi_unstable`, the snapshot-0 witx) on top of node:wasi's preview 1.
//
// node:wasi's own `version: "unstable"` is no reference for it: it only renames the import module
// and keeps preview 1's ABI (checked with node 20: fd_seek takes preview 1's whence values,
// fd_filestat_get writes the 64-byte preview 1 filestat, and it even offers sock_accept). So the
// three data differences of the witx are translated here, written from the witx and
// independently of the engine's C++ (src/provider/wasi, abi.h namespace preview0):
//   * whence: preview 0 CUR = 0, END = 1, SET = 2; preview 1 SET = 0, CUR = 1, END = 2;
//   * filestat (fd_filestat_get, path_filestat_get): 56 bytes, nlink u32 @20, size @24, atim @32,
//     mtim @40, ctim @48 (preview 1: 64 bytes, nlink u64 @24, size @32, ...);
//   * subscription (poll_oneoff): 56 bytes, the clock variant starts with an `identifier` u64 @16,
//     then id @24, timeout @32, precision @40, flags @48 (preview 1: 48 bytes, id @16 ...).
//     The fd_readwrite variant and the 32-byte event are the same.
// Every other function is preview 1's, which has the same signature and data in preview 0;
// sock_accept does not exist in preview 0. One WASI instance serves both names, so a module that
// imports from both shares one fd table, as on the engine.
// Limits of this translation (the test modules avoid them): the filestat is written by preview 1
// first, so its 8 bytes after the 56 must be inside memory; poll_oneoff's subscriptions and events
// must not overlap.
const EFAULT = 21;
function preview0Imports(p1, getMemory) {
  const imports = {};
  for (const [name, fn] of Object.entries(p1)) if (name !== "sock_accept") imports[name] = fn;
  const whence = new Map([[0, 1], [1, 2], [2, 0]]);
  imports.fd_seek = (fd, offset, w, out) => p1.fd_seek(fd, offset, whence.get(w) ?? 255, out);
  const filestat = (buf, call) => {
    const len = getMemory().buffer.byteLength;
    if (buf + 56 > len) return EFAULT;
    const saved = new Uint8Array(getMemory().buffer).slice(buf + 56, buf + 64);
    const err = call();
    const bytes = new Uint8Array(getMemory().buffer);
    if (err === 0) {
      const view = new DataView(getMemory().buffer);
      const nlink = view.getBigUint64(buf + 24, true);
      bytes.copyWithin(buf + 24, buf + 32, buf + 64);  // size, atim, mtim, ctim
      bytes.fill(0, buf + 17, buf + 20);
      view.setUint32(buf + 20, Number(nlink > 0xffffffffn ? 0xffffffffn : nlink), true);
    }
    bytes.set(saved, buf + 56);
    return err;
  };
  imports.fd_filestat_get = (fd, buf) => filestat(buf, () => p1.fd_filestat_get(fd, buf));
  imports.path_filestat_get = (fd, flags, path, len, buf) =>
    filestat(buf, () => p1.path_filestat_get(fd, flags, path, len, buf));
  imports.poll_oneoff = (inPtr, outPtr, n, nevents) => {
    if (n === 0) return p1.poll_oneoff(inPtr, outPtr, n, nevents);
    if (inPtr + 56 * n > getMemory().buffer.byteLength) return EFAULT;
    const saved = new Uint8Array(getMemory().buffer).slice(inPtr, inPtr + 56 * n);
    const converted = new Uint8Array(48 * n);
    for (let i = 0; i < n; i++) {
      const s = saved.subarray(56 * i, 56 * i + 56);
      converted.set(s.subarray(0, 16), 48 * i);  // userdata, tag
      // clock: skip the identifier; fd_readwrite: the fd is at 16 in both
      converted.set(s[8] === 0 ? s.subarray(24, 56) : s.subarray(16, 48), 48 * i + 16);
    }
    new Uint8Array(getMemory().buffer).set(converted, inPtr);
    const err = p1.poll_oneoff(inPtr, outPtr, n, nevents);
    new Uint8Array(getMemory().buffer).set(saved, inPtr);
    return err;
  };
  return imports;
}

function runGuest(data) {
  const wasi = new WASI({
    version: "preview1",
    args: data.args,
    env: orderedEnv(data.env),
    preopens: { "/": data.root },
    returnOnExit: true,
    stdin: data.stdin,
    stdout: data.stdout,
    stderr: data.stderr,
  });
  let instance;
  const importObject = {
    wasi_snapshot_preview1: wasi.wasiImport,
    wasi_unstable: preview0Imports(wasi.wasiImport, () => instance.exports.memory),
  };
  try {
    instance = new WebAssembly.Instance(data.module, importObject);
  } catch (err) {
    if (err instanceof RangeError && /memory/i.test(err.message)) {
      return { error: "memory limit exceeded" };
    }
    return { error: `unsupported module: ${err.message}` };
  }
  try {
    return { status: wasi.start(instance) | 0 };
  } catch (err) {
    return { error: trapText(err) };
  }
}

if (!isMainThread) {
  parentPort.postMessage(runGuest(workerData));
}

// ---------------------------------------------------------------------------------------------
// Host side (main thread).

function fail(message) {
  process.stderr.write(`node-wasi-run: ${message}\n`);
  process.exit(2);
}

function readSpec(file) {
  let spec;
  try {
    spec = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    fail(`cannot read spec ${file}: ${err.message}`);
  }
  if (spec === null || typeof spec !== "object" || Array.isArray(spec)) {
    fail("spec must be a JSON object");
  }
  const strings = (key) => {
    const v = spec[key] ?? [];
    if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) {
      fail(`spec.${key} must be an array of strings`);
    }
    return v;
  };
  const optional = (key, type) => {
    const v = spec[key] ?? null;
    if (v !== null && typeof v !== type) fail(`spec.${key} must be a ${type} or null`);
    return v;
  };
  if (typeof spec.wasm !== "string") fail("spec.wasm must be the path of a .wasm file");
  const out = {
    wasm: spec.wasm,
    args: strings("args"),
    env: strings("env"),
    stdin: optional("stdin", "string"),
    rootfs: optional("rootfs", "string"),
    artifacts: strings("artifacts"),
    timeoutMs: optional("timeout_ms", "number"),
    memoryLimit: optional("memory_limit", "number"),
  };
  for (const key of ["timeoutMs", "memoryLimit"]) {
    if (out[key] !== null && !(Number.isSafeInteger(out[key]) && out[key] > 0)) {
      fail(`spec.${key === "timeoutMs" ? "timeout_ms" : "memory_limit"} must be a positive integer`);
    }
  }
  return out;
}

function splitEnv(entries) {
  const seen = new Set();
  return entries.map((entry) => {
    const eq = entry.indexOf("=");
    if (eq < 0) {
      throw new TaskError(`env: node:wasi cannot pass an entry without '=': ${entry}`);
    }
    const key = entry.slice(0, eq);
    if (seen.has(key)) throw new TaskError(`env: node:wasi cannot pass duplicate key ${key}`);
    seen.add(key);
    return [key, entry.slice(eq + 1)];
  });
}

// Signatures of the wasi_snapshot_preview1 functions (docs/provider-internals.md §3.5): parameters,
// "->", results; i = i32, I = i64. node:wasi's imports are untyped JavaScript functions that link
// against any signature, so the runner checks them itself, as the native engine must (a mismatch is
// UB in C).
const WASI_SIGNATURES = {
  args_get: "ii->i", args_sizes_get: "ii->i", environ_get: "ii->i", environ_sizes_get: "ii->i",
  clock_res_get: "ii->i", clock_time_get: "iIi->i", fd_advise: "iIIi->i", fd_allocate: "iII->i",
  fd_close: "i->i", fd_datasync: "i->i", fd_fdstat_get: "ii->i", fd_fdstat_set_flags: "ii->i",
  fd_fdstat_set_rights: "iII->i", fd_filestat_get: "ii->i", fd_filestat_set_size: "iI->i",
  fd_filestat_set_times: "iIIi->i", fd_pread: "iiiIi->i", fd_prestat_get: "ii->i",
  fd_prestat_dir_name: "iii->i", fd_pwrite: "iiiIi->i", fd_read: "iiii->i",
  fd_readdir: "iiiIi->i", fd_renumber: "ii->i", fd_seek: "iIii->i", fd_sync: "i->i",
  fd_tell: "ii->i", fd_write: "iiii->i", path_create_directory: "iii->i",
  path_filestat_get: "iiiii->i", path_filestat_set_times: "iiiiIIi->i", path_link: "iiiiiii->i",
  path_open: "iiiiiIIii->i", path_readlink: "iiiiii->i", path_remove_directory: "iii->i",
  path_rename: "iiiiii->i", path_symlink: "iiiii->i", path_unlink_file: "iii->i",
  poll_oneoff: "iiii->i", proc_exit: "i->", proc_raise: "i->i", sched_yield: "->i",
  random_get: "ii->i", sock_accept: "iii->i", sock_recv: "iiiiii->i", sock_send: "iiiii->i",
  sock_shutdown: "ii->i",
};

// The import module names we run: preview 1 and preview 0 (same signatures, minus sock_accept).
const WASI_MODULES = ["wasi_snapshot_preview1", "wasi_unstable"];

// --- minimal wasm binary reading: type/import sections (signatures) and the memory section ---

function readU32(bytes, pos) {
  let result = 0;
  let shift = 0;
  for (;;) {
    if (pos >= bytes.length || shift > 28) throw new TaskError("unsupported module: bad LEB128");
    const b = bytes[pos++];
    result += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if ((b & 0x80) === 0) return [result, pos];
  }
}

function writeU32(value) {
  const out = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

function readName(bytes, pos) {
  const [len, start] = readU32(bytes, pos);
  if (start + len > bytes.length) throw new TaskError("unsupported module: truncated name");
  return [bytes.subarray(start, start + len).toString("utf8"), start + len];
}

// Checks that every imported function has the signature of WASI_SIGNATURES. The module has been
// validated by the WebAssembly compiler already, so only the fields needed here are decoded.
function checkImportSignatures(bytes) {
  const valtypes = { 0x7f: "i", 0x7e: "I", 0x7d: "f", 0x7c: "F", 0x7b: "v", 0x70: "r", 0x6f: "x" };
  const types = [];
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, payload] = readU32(bytes, pos + 1);
    let p = payload;
    if (id === 1) {
      let count;
      [count, p] = readU32(bytes, p);
      for (let t = 0; t < count; t++) {
        if (bytes[p++] !== 0x60) throw new TaskError("unsupported module: unknown type form");
        let sig = "";
        for (const sep of ["->", ""]) {
          let n;
          [n, p] = readU32(bytes, p);
          for (let k = 0; k < n; k++) sig += valtypes[bytes[p++]] ?? "?";
          sig += sep;
        }
        types.push(sig);
      }
    } else if (id === 2) {
      let count;
      [count, p] = readU32(bytes, p);
      for (let k = 0; k < count; k++) {
        let module, name, typeIndex;
        [module, p] = readName(bytes, p);
        [name, p] = readName(bytes, p);
        const kind = bytes[p++];
        if (kind !== 0) return;  // non-function imports are rejected by the caller
        [typeIndex, p] = readU32(bytes, p);
        const want = WASI_SIGNATURES[name];
        if (WASI_MODULES.includes(module) && want && types[typeIndex] !== want) {
          throw new TaskError(`unsupported module: import ${module}.${name} has signature ` +
                              `(${types[typeIndex]}) instead of (${want})`);
        }
      }
      return;
    }
    pos = payload + size;
  }
}

// Returns the module bytes with the defined memory's maximum lowered to the limit.
function capMemory(bytes, limitBytes) {
  const limitPages = Math.floor(limitBytes / WASM_PAGE);
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos];
    const [size, payload] = readU32(bytes, pos + 1);
    const end = payload + size;
    if (id === 5) {
      let [count, p] = readU32(bytes, payload);
      if (count !== 1) {
        throw new TaskError(`unsupported module: ${count} memories (exactly one is supported)`);
      }
      const flags = bytes[p++];
      if (flags > 1) {
        throw new TaskError("unsupported module: shared or 64-bit memory is not supported");
      }
      let min;
      let max = 65536;
      [min, p] = readU32(bytes, p);
      if (flags === 1) [max, p] = readU32(bytes, p);
      if (p !== end) throw new TaskError("unsupported module: malformed memory section");
      if (min > limitPages) throw new TaskError("memory limit exceeded");
      const body = [1, ...writeU32(min), ...writeU32(Math.min(max, limitPages))];
      const section = [5, ...writeU32(body.length + 1), 1, ...body];
      return Buffer.concat([bytes.subarray(0, pos), Buffer.from(section), bytes.subarray(end)]);
    }
    pos = end;
  }
  return bytes;
}

function loadModule(bytes, memoryLimit) {
  let module;
  try {
    module = new WebAssembly.Module(bytes);
  } catch (err) {
    throw new TaskError(`unsupported module: ${err.message}`);
  }
  const wasiNames = new Set(Object.keys(new WASI({ version: "preview1" }).wasiImport));
  for (const imp of WebAssembly.Module.imports(module)) {
    if (!WASI_MODULES.includes(imp.module) || imp.kind !== "function" ||
        !wasiNames.has(imp.name) ||
        (imp.module === "wasi_unstable" && imp.name === "sock_accept")) {
      throw new TaskError(
          `unsupported module: import ${imp.module}.${imp.name} (${imp.kind}) is not a ` +
          "WASI function of wasi_snapshot_preview1 or wasi_unstable");
    }
  }
  checkImportSignatures(bytes);
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("_start") !== "function") {
    throw new TaskError("unsupported module: no exported function _start (not a WASI command)");
  }
  if (exports.get("memory") !== "memory") {
    throw new TaskError("unsupported module: no exported memory");
  }
  return new WebAssembly.Module(capMemory(bytes, memoryLimit));
}

function python() {
  return fs.existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
}

function ziptool(args) {
  const r = spawnSync(python(), [ZIPTOOL, ...args], { encoding: "utf8", timeout: 120000 });
  if (r.error) fail(`cannot run ${ZIPTOOL}: ${r.error.message}`);
  return r;
}

function formatDuration(ms) {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

// Runs the guest in a worker thread. The worker is terminated when the time limit passes or when
// stdout + stderr grow past the output limit (checked every 50 ms, so the files stay bounded).
function runInWorker(data, timeoutMs) {
  return new Promise((resolve) => {
    let result = null;
    let timer = null;
    const worker = new Worker(new URL(import.meta.url), { workerData: data });
    const stop = (error) => {
      if (result === null || result.error === undefined) result = { error };
      worker.terminate();
    };
    const watch = setInterval(() => {
      const size = fs.fstatSync(data.stdout).size + fs.fstatSync(data.stderr).size;
      if (size > OUTPUT_LIMIT) stop("output too large");
    }, 50);
    worker.on("message", (msg) => {
      result = msg;
    });
    worker.on("error", (err) => {
      result = { error: trapText(err) };
    });
    worker.on("exit", () => {
      clearInterval(watch);
      if (timer) clearTimeout(timer);
      resolve(result ?? { error: "worker crashed: guest thread ended without a result" });
    });
    if (timeoutMs !== null) {
      timer = setTimeout(() => stop(`task timed out after ${formatDuration(timeoutMs)}`),
                         timeoutMs);
    }
  });
}

async function runTask(spec, dir) {
  let wasmBytes;
  try {
    wasmBytes = fs.readFileSync(spec.wasm);
  } catch (err) {
    fail(`cannot read ${spec.wasm}: ${err.message}`);
  }
  if (spec.rootfs !== null && !fs.existsSync(spec.rootfs)) fail(`cannot read ${spec.rootfs}`);

  const env = splitEnv(spec.env);
  const module = loadModule(wasmBytes, spec.memoryLimit ?? DEFAULT_MEMORY_LIMIT);

  const root = path.join(dir, "root");
  fs.mkdirSync(root);
  if (spec.rootfs !== null) {
    const r = ziptool(["extract", spec.rootfs, root, "--limit", String(FILESYSTEM_LIMIT)]);
    if (r.status !== 0) {
      throw new TaskError(r.stderr.trim().split("\n").pop() || `rootfs: extraction failed`);
    }
  }
  const files = ["stdin", "stdout", "stderr"].map((n) => path.join(dir, n));
  fs.writeFileSync(files[0], spec.stdin === null ? "" : Buffer.from(spec.stdin, "base64"));
  const fds = [fs.openSync(files[0], "r"), fs.openSync(files[1], "w+"),
               fs.openSync(files[2], "w+")];
  let outcome;
  try {
    outcome = await runInWorker({ module, args: spec.args, env, root, stdin: fds[0],
                                  stdout: fds[1], stderr: fds[2] }, spec.timeoutMs);
  } finally {
    fds.forEach((fd) => fs.closeSync(fd));
  }
  if (outcome.error !== undefined) throw new TaskError(outcome.error);

  const stdout = fs.readFileSync(files[1]);
  const stderr = fs.readFileSync(files[2]);
  let artifacts = null;
  if (spec.artifacts.length > 0) {
    const zipPath = path.join(dir, "artifacts.zip");
    const r = ziptool(["pack", root, zipPath, ...spec.artifacts]);
    if (r.status !== 0) fail(`collecting artifacts failed: ${r.stderr.trim()}`);
    artifacts = fs.readFileSync(zipPath);
  }
  if (stdout.length + stderr.length + (artifacts ? artifacts.length : 0) > OUTPUT_LIMIT) {
    throw new TaskError("output too large");
  }
  return {
    status: outcome.status,
    stdout: stdout.toString("base64"),
    stderr: stderr.toString("base64"),
    error: null,
    artifacts: artifacts ? artifacts.toString("base64") : null,
  };
}

async function main() {
  if (process.argv.length !== 3) fail("usage: node --no-warnings node-wasi-run.mjs <spec.json>");
  const spec = readSpec(process.argv[2]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wasimoff-node-run-"));
  let result;
  try {
    result = await runTask(spec, dir);
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    result = { status: null, stdout: "", stderr: "", error: err.message, artifacts: null };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}

if (isMainThread) {
  await main();
}
