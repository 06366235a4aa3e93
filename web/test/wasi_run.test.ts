import { unzipSync, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { pollOneoff, runWasip1, trapText, type RunParams } from "../src/lib/wasi_run";
import { wasm, type FixtureName } from "./helpers";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function run(name: FixtureName, extra: Partial<RunParams> = {}) {
  return runWasip1({ module: new WebAssembly.Module(wasm(name)), args: [], envs: [], artifacts: [], ...extra });
}

function ok(r: ReturnType<typeof run>) {
  if (!("ok" in r)) throw new Error(`expected output, got error: ${r.error}`);
  return r.ok;
}

describe("runWasip1 (provider.md §1)", () => {
  it("runs the reference module: stdout and exit status 7", () => {
    const out = ok(run("hello"));
    expect(dec(out.stdout)).toBe("hello from WAT\n");
    expect(out.status).toBe(7);
    expect(out.artifacts).toBeUndefined();
  });

  it("passes argv (args[0] is argv[0]), the environment in order, and stdin; returning gives 0", () => {
    const out = ok(run("echo", { args: ["prog.wasm", "ünïcödé", ""], envs: ["A=1", "B=two"], stdin: enc("from stdin") }));
    expect(dec(out.stdout)).toBe("prog.wasm\nünïcödé\n\nA=1\nB=two\n");
    expect(dec(out.stderr)).toBe("from stdin");
    expect(out.status).toBe(0);
  });

  it("gives argc 0 for an empty argument list and EOF for absent stdin", () => {
    const out = ok(run("echo"));
    expect(out.stdout.length).toBe(0);
    expect(out.stderr.length).toBe(0);
  });

  it("sleeps in poll_oneoff for the requested time", () => {
    const t0 = Date.now();
    const out = ok(run("sleep"));
    expect(dec(out.stdout)).toBe("woke\n");
    expect(out.status).toBe(1); // one event reported
    // Atomics.wait never returns before its timeout: the guest's 300 ms were really slept.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(299);
  });

  it("reports traps with the spec text and the stderr tail", () => {
    const r = run("trap");
    expect(r).toEqual({ error: "trap: unreachable executed\nabout to trap\n" });
  });

  it("builds / from the rootfs and returns requested artifacts as a ZIP", () => {
    const rootfs = zipSync({ "in.txt": enc("payload"), "keep/me.txt": enc("untouched") });
    const out = ok(run("files", { rootfs, artifacts: ["/out", "/in.txt", "/missing", "../escape"] }));
    expect(out.status).toBe(0);
    const files = unzipSync(out.artifacts!);
    expect(Object.keys(files).sort()).toEqual(["in.txt", "out/", "out/copy.txt"]);
    expect(dec(files["out/copy.txt"])).toBe("payload!\n");
  });

  it("gives an empty preopen without rootfs (the program fails to open in.txt: ENOENT 44)", () => {
    expect(ok(run("files")).status).toBe(100 + 44);
  });

  it("rejects bad rootfs archives with rootfs: <reason>", () => {
    const r = run("files", { rootfs: enc("not a zip") });
    expect("error" in r && r.error).toMatch(/^rootfs: /);
  });

  it("rejects modules that are not WASI commands", () => {
    // (module (memory (export "memory") 1)) — no _start
    const noStart = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0]);
    const r = runWasip1({ module: new WebAssembly.Module(noStart), args: [], envs: [], artifacts: [] });
    expect("error" in r && r.error).toMatch(/^unsupported module: no exported function _start/);
  });

  it("fails with output too large when stdout exceeds the limit", () => {
    expect(run("hello", { outputLimit: 10 })).toEqual({ error: "output too large" });
  });

  it("maps engine trap messages to provider.md §1.2", () => {
    expect(trapText(new WebAssembly.RuntimeError("memory access out of bounds"))).toBe("trap: out of bounds memory access");
    expect(trapText(new WebAssembly.RuntimeError("divide by zero"))).toBe("trap: integer divide by zero");
    expect(trapText(new WebAssembly.RuntimeError("integer overflow"))).toBe("trap: integer overflow");
    expect(trapText(new WebAssembly.RuntimeError("float unrepresentable in integer range"))).toBe("trap: invalid conversion to integer");
    expect(trapText(new WebAssembly.RuntimeError("null function or function signature mismatch"))).toBe("trap: indirect call type mismatch");
    expect(trapText(new RangeError("Maximum call stack size exceeded"))).toBe("trap: call stack exhausted");
  });
});

describe("poll_oneoff", () => {
  it("completes fd subscriptions at once and reports only them", () => {
    const view = new DataView(new ArrayBuffer(1024));
    // sub 0: clock, 10 s; sub 1: fd_read on fd 0
    view.setBigUint64(0, 1n, true); view.setUint8(8, 0); view.setUint32(16, 1, true); view.setBigUint64(24, 10_000_000_000n, true);
    view.setBigUint64(48, 2n, true); view.setUint8(56, 1); view.setUint32(64, 0, true);
    const sleeps: number[] = [];
    expect(pollOneoff(view, 0, 200, 2, 500, undefined, (ms) => sleeps.push(ms))).toBe(0);
    expect(sleeps).toEqual([]);
    expect(view.getUint32(500, true)).toBe(1);
    expect(view.getBigUint64(200, true)).toBe(2n);
    expect(view.getUint8(210)).toBe(1);
  });

  it("never sleeps beyond the deadline", () => {
    const view = new DataView(new ArrayBuffer(1024));
    view.setBigUint64(0, 1n, true); view.setUint8(8, 0); view.setUint32(16, 1, true); view.setBigUint64(24, 60_000_000_000n, true);
    const sleeps: number[] = [];
    expect(pollOneoff(view, 0, 200, 1, 500, Date.now() + 50, (ms) => sleeps.push(ms))).toBe(0);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeLessThanOrEqual(50);
  });

  it("sleeps for relative clock subscriptions, rounding up to whole milliseconds", () => {
    const view = new DataView(new ArrayBuffer(1024));
    view.setBigUint64(0, 5n, true); view.setUint8(8, 0); view.setUint32(16, 1, true); view.setBigUint64(24, 2_500_001n, true);
    const sleeps: number[] = [];
    expect(pollOneoff(view, 0, 200, 1, 500, undefined, (ms) => sleeps.push(ms))).toBe(0);
    expect(sleeps).toEqual([3]);
    expect(view.getUint32(500, true)).toBe(1);
    expect(view.getBigUint64(200, true)).toBe(5n);
  });

  it("rejects zero subscriptions and out-of-bounds pointers", () => {
    const view = new DataView(new ArrayBuffer(64));
    expect(pollOneoff(view, 0, 0, 0, 0)).toBe(28);
    expect(pollOneoff(view, 0, 0, 4, 0)).toBe(21);
  });
});
