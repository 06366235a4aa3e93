import { describe, expect, it } from "vitest";
import { WorkerKilledError, WorkerPool } from "../src/lib/worker_pool";
import type { RunMessage } from "../src/lib/worker_protocol";
import { InProcessWorker } from "./fake_worker";
import { wasm } from "./helpers";

function task(id: string, args: string[] = []): RunMessage {
  return { type: "run", task: id, module: new WebAssembly.Module(wasm("hello")), args, envs: [], artifacts: [] };
}

describe("WorkerPool", () => {
  it("reports size and busy count on every change", async () => {
    const changes: [number, number][] = [];
    const pool = new WorkerPool(() => new InProcessWorker(), (s, b) => changes.push([s, b]));
    pool.resize(2);
    const slot = pool.tryAcquire()!;
    const res = await pool.run(slot, task("t1"));
    expect("ok" in res.result && res.result.ok.status).toBe(7);
    expect(changes[0]).toEqual([2, 0]);
    expect(changes).toContainEqual([2, 1]);
    expect(changes[changes.length - 1]).toEqual([2, 0]);
    pool.dispose();
  });

  it("kills a busy worker, replaces it and fails its task with the reason", async () => {
    const pool = new WorkerPool(() => new InProcessWorker());
    pool.resize(1);
    const before = InProcessWorker.created;
    const slot = pool.tryAcquire()!;
    const p = pool.run(slot, task("stuck", ["hang"]));
    expect(pool.slotOf("stuck")).toBe(slot);
    pool.kill(slot, "task canceled: test");
    await expect(p).rejects.toBeInstanceOf(WorkerKilledError);
    await expect(p).rejects.toThrow("task canceled: test");
    expect(InProcessWorker.created).toBe(before + 1);
    expect(pool.size).toBe(1);
    expect(pool.busy).toBe(0);
    // The replacement works.
    const again = await pool.run(pool.tryAcquire()!, task("t2"));
    expect("ok" in again.result).toBe(true);
    pool.dispose();
  });

  it("shrinks idle workers at once and busy ones after their task", async () => {
    const pool = new WorkerPool(() => new InProcessWorker());
    pool.resize(3);
    const busy = pool.tryAcquire()!;
    const p = pool.run(busy, task("t"));
    pool.resize(0);
    expect(pool.size).toBe(0);
    expect(pool.view).toHaveLength(1);
    expect(pool.view[0].retiring).toBe(true);
    expect(pool.tryAcquire()).toBeUndefined();
    await p;
    expect(pool.view).toHaveLength(0);
    pool.resize(2);
    expect(pool.view).toHaveLength(2);
    pool.dispose();
  });

  it("lets waiters have the next free worker, bounded by a timeout", async () => {
    const pool = new WorkerPool(() => new InProcessWorker());
    pool.resize(1);
    const first = pool.tryAcquire()!;
    const waiting = pool.acquire(10_000);
    await expect(pool.acquire(10)).rejects.toThrow(/no worker became free/);
    pool.release(first);
    const second = await waiting;
    expect(second.busy).toBe(true);
    pool.dispose();
  });
});

describe("WorkerPool with workers that cannot start", () => {
  it("stops replacing them after repeated start failures and reports it once", () => {
    const workers: WorkerLikeStub[] = [];
    const broken: string[] = [];
    const pool = new WorkerPool(
      () => {
        const w = new WorkerLikeStub();
        workers.push(w);
        return w;
      },
      () => {},
      (r) => broken.push(r),
    );
    pool.resize(1);
    for (let i = 0; i < 20 && workers.length > 0; i++) {
      const w = workers[workers.length - 1];
      if (w.dead) break;
      w.onerror?.({ message: "failed to load worker script", preventDefault() {} } as unknown as ErrorEvent);
    }
    expect(workers.length).toBe(5);
    expect(broken).toEqual(["worker crashed: failed to load worker script"]);
    expect(pool.size).toBe(0);
    expect(pool.view).toHaveLength(0);
  });
});

class WorkerLikeStub {
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  dead = false;
  postMessage(): void {}
  terminate(): void {
    this.dead = true;
  }
}
