// The pool of task workers (docs/provider-internals.md §4): one module Web Worker per slot, one
// task per worker.
//
// * resize(n) adds workers at once; surplus idle workers are terminated, busy ones retire after
//   their task.
// * acquire() hands out an idle slot, or waits in a bounded FIFO (the Broker never sends more tasks
//   than the announced concurrency, so waiting is rare: it happens while shrinking).
// * kill(slot) terminates a busy worker (cancel, deadline) and replaces it; its task's promise
//   rejects with the given reason.
// Every change of size or busy count is reported through onChange (→ ProviderResources, UI).
import type { RunMessage, WorkerMessage } from "./worker_protocol";

/** The subset of the Worker API the pool uses (lets tests substitute a fake). */
export interface WorkerLike {
  postMessage(message: unknown, transfer: Transferable[]): void;
  terminate(): void;
  onmessage: ((ev: MessageEvent) => void) | null;
  onerror: ((ev: ErrorEvent) => void) | null;
}

export interface Slot {
  readonly id: number;
  busy: boolean;
  /** Task id while busy. */
  task?: string;
}

interface SlotImpl extends Slot {
  worker: WorkerLike;
  retire: boolean;
  /** The current worker has started (sent "ready" or a result). */
  started: boolean;
  settle?: { resolve(m: Extract<WorkerMessage, { type: "result" }>): void; reject(e: Error): void };
}

/** Thrown by run() when the worker was killed or crashed; `message` is the task's error text. */
export class WorkerKilledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerKilledError";
  }
}

const MAX_WAITERS = 1024;
/** Workers that fail before starting, in a row, before the pool stops replacing them. */
const MAX_START_FAILURES = 5;

export class WorkerPool {
  private slots: SlotImpl[] = [];
  private waiters: { resolve(s: Slot): void; reject(e: Error): void }[] = [];
  private nextId = 1;
  private wanted = 0;
  private startFailures = 0;

  /**
   * @param onBroken  called once when workers keep failing to start (e.g. the worker script
   *                  cannot be loaded); the pool then stops replacing them.
   */
  constructor(
    private readonly factory: () => WorkerLike,
    private readonly onChange: (size: number, busy: number) => void = () => {},
    private readonly onBroken: (reason: string) => void = () => {},
  ) {}

  /** Workers that count towards the announced concurrency (retiring ones excluded). */
  get size(): number {
    return this.wanted;
  }

  get busy(): number {
    return this.slots.filter((s) => s.busy).length;
  }

  /** Snapshot for the UI: one entry per live worker. */
  get view(): { id: number; busy: boolean; retiring: boolean; task?: string }[] {
    return this.slots.map((s) => ({ id: s.id, busy: s.busy, retiring: s.retire, task: s.task }));
  }

  resize(n: number): void {
    this.wanted = Math.max(0, Math.floor(n));
    let active = this.slots.filter((s) => !s.retire);
    // Un-retire busy workers first when growing again, then start new ones.
    for (const s of this.slots) {
      if (active.length >= this.wanted) break;
      if (s.retire) {
        s.retire = false;
        active.push(s);
      }
    }
    while (active.length < this.wanted) active.push(this.spawn());
    // Shrink: idle workers go at once (newest first), busy ones after their task.
    for (let i = this.slots.length - 1; i >= 0 && active.length > this.wanted; i--) {
      const s = this.slots[i];
      if (s.retire) continue;
      active = active.filter((a) => a !== s);
      if (s.busy) s.retire = true;
      else this.remove(s);
    }
    this.changed();
    this.serveWaiters();
  }

  /** An idle slot now, or undefined. */
  tryAcquire(): Slot | undefined {
    const s = this.slots.find((x) => !x.busy && !x.retire);
    if (!s) return undefined;
    s.busy = true;
    this.changed();
    return s;
  }

  /** An idle slot, waiting if necessary; rejects after `timeoutMs` or when too many wait. */
  acquire(timeoutMs: number): Promise<Slot> {
    const s = this.tryAcquire();
    if (s) return Promise.resolve(s);
    if (this.waiters.length >= MAX_WAITERS) return Promise.reject(new Error("too many tasks waiting for a worker"));
    return new Promise((resolve, reject) => {
      const w = {
        resolve: (slot: Slot) => (clearTimeout(t), resolve(slot)),
        reject: (e: Error) => (clearTimeout(t), reject(e)),
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        reject(new Error(`no worker became free within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.push(w);
    });
  }

  /** Gives a slot back without running anything on it. */
  release(slot: Slot): void {
    const s = slot as SlotImpl;
    s.busy = false;
    s.task = undefined;
    if (s.retire) this.remove(s);
    this.changed();
    this.serveWaiters();
  }

  /** Runs one task on an acquired slot; the slot is released when the promise settles. */
  run(slot: Slot, msg: RunMessage, transfer: Transferable[] = []): Promise<Extract<WorkerMessage, { type: "result" }>> {
    const s = slot as SlotImpl;
    s.task = msg.task;
    this.changed();
    return new Promise<Extract<WorkerMessage, { type: "result" }>>((resolve, reject) => {
      s.settle = { resolve, reject };
      try {
        s.worker.postMessage(msg, transfer);
      } catch (e) {
        s.settle = undefined;
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    }).finally(() => this.release(s));
  }

  /** Terminates the worker of a busy slot and replaces it; its run() rejects with `reason`. */
  kill(slot: Slot, reason: string): void {
    const s = slot as SlotImpl;
    const settle = s.settle;
    s.settle = undefined;
    this.replaceWorker(s);
    settle?.reject(new WorkerKilledError(reason));
  }

  /** The busy slot running `task`, if any. */
  slotOf(task: string): Slot | undefined {
    return this.slots.find((s) => s.busy && s.task === task);
  }

  /** Terminates everything (page unload). */
  dispose(): void {
    for (const s of [...this.slots]) {
      s.settle?.reject(new WorkerKilledError("task canceled: provider shutting down"));
      s.worker.terminate();
    }
    this.slots = [];
    this.wanted = 0;
    for (const w of this.waiters) w.reject(new Error("provider shutting down"));
    this.waiters = [];
    this.changed();
  }

  private spawn(): SlotImpl {
    const s: SlotImpl = { id: this.nextId++, busy: false, retire: false, started: false, worker: undefined as unknown as WorkerLike };
    this.attach(s);
    this.slots.push(s);
    return s;
  }

  private attach(s: SlotImpl): void {
    s.worker = this.factory();
    s.started = false;
    s.worker.onmessage = (ev: MessageEvent<WorkerMessage>) => {
      if (!s.started) {
        s.started = true;
        this.startFailures = 0;
      }
      if (ev.data?.type === "result" && s.settle) {
        const settle = s.settle;
        s.settle = undefined;
        settle.resolve(ev.data);
      }
    };
    s.worker.onerror = (ev: ErrorEvent) => {
      // An uncaught error in the worker (e.g. it failed to load): the task fails, the worker
      // is replaced so the slot stays usable.
      ev.preventDefault?.();
      const settle = s.settle;
      s.settle = undefined;
      const reason = `worker crashed: ${ev.message || "unknown error"}`;
      if (!s.started && ++this.startFailures >= MAX_START_FAILURES) {
        // Replacing would fail the same way, forever: give up on this slot.
        s.retire = true;
        this.wanted = Math.max(0, this.wanted - 1);
        if (!s.busy) this.remove(s);
        else s.worker.terminate();
        if (this.startFailures === MAX_START_FAILURES) this.onBroken(reason);
        this.changed();
      } else {
        this.replaceWorker(s);
      }
      settle?.reject(new WorkerKilledError(reason));
    };
  }

  private replaceWorker(s: SlotImpl): void {
    s.worker.onmessage = null;
    s.worker.onerror = null;
    s.worker.terminate();
    if (s.retire) return; // release() removes it
    this.attach(s);
  }

  private remove(s: SlotImpl): void {
    s.worker.onmessage = null;
    s.worker.onerror = null;
    s.worker.terminate();
    this.slots = this.slots.filter((x) => x !== s);
  }

  private serveWaiters(): void {
    while (this.waiters.length > 0) {
      const s = this.tryAcquire();
      if (!s) return;
      this.waiters.shift()!.resolve(s);
    }
  }

  private changed(): void {
    this.onChange(this.size, this.busy);
  }
}
