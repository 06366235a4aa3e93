// Messages between the page and a task worker (task_worker.ts). One task per worker at a time.
import type { RunResult } from "./wasi_run";

export interface RunMessage {
  type: "run";
  task: string;
  module: WebAssembly.Module;
  args: string[];
  envs: string[];
  stdin?: Uint8Array;
  rootfs?: Uint8Array;
  artifacts: string[];
  deadline?: number;
  /** stdout + stderr + artifacts limit (bytes); the Broker's message size minus 1 MiB. */
  outputLimit?: number;
}

/** Unix nanoseconds as a decimal string (BigInt does not survive structured cloning everywhere). */
export type UnixNanoString = string;

export type WorkerMessage =
  | { type: "ready" }
  | {
      type: "result";
      task: string;
      result: RunResult;
      times: { prepare: UnixNanoString; execute: UnixNanoString; done: UnixNanoString };
    };

/** Current time as Unix nanoseconds, with sub-millisecond resolution where available. */
export function unixNanoNow(): bigint {
  const ms = performance.timeOrigin + performance.now();
  return BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.floor((ms % 1) * 1e6));
}
