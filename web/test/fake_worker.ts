// A WorkerLike that runs tasks in-process (vitest has no Web Workers). A task whose args[0] is
// "hang" never answers, like a module stuck in an endless loop.
import { runWasip1 } from "../src/lib/wasi_run";
import type { WorkerLike } from "../src/lib/worker_pool";
import type { RunMessage } from "../src/lib/worker_protocol";

export class InProcessWorker implements WorkerLike {
  static created = 0;
  static terminated = 0;
  onmessage: ((ev: MessageEvent) => void) | null = null;
  onerror: ((ev: ErrorEvent) => void) | null = null;
  private dead = false;

  constructor() {
    InProcessWorker.created++;
  }

  postMessage(message: unknown): void {
    const msg = message as RunMessage;
    if (msg.args[0] === "hang") return;
    setTimeout(() => {
      if (this.dead) return;
      const result = runWasip1(msg);
      const now = (BigInt(Date.now()) * 1_000_000n).toString();
      this.onmessage?.({ data: { type: "result", task: msg.task, result, times: { prepare: now, execute: now, done: now } } } as MessageEvent);
    }, 0);
  }

  terminate(): void {
    if (!this.dead) InProcessWorker.terminated++;
    this.dead = true;
  }
}
