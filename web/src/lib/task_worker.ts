// Module Web Worker that executes WASI tasks, one at a time (docs/provider-internals.md §4). The
// page posts a compiled WebAssembly.Module with the task parameters; the worker answers with the
// result. To cancel, the page terminates the worker and starts a new one, so no cooperation is
// needed here.
/// <reference lib="webworker" />
import { runWasip1, type RunResult } from "./wasi_run";
import { unixNanoNow, type RunMessage, type WorkerMessage } from "./worker_protocol";

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (ev: MessageEvent<RunMessage>) => {
  const msg = ev.data;
  if (msg?.type !== "run") return;
  let prepare = unixNanoNow();
  let execute = prepare;
  let result: RunResult;
  try {
    result = runWasip1(msg, {
      prepared: () => (prepare = unixNanoNow()),
      executing: () => (execute = unixNanoNow()),
    });
  } catch (e) {
    result = { error: `worker error: ${e instanceof Error ? e.message : String(e)}` };
  }
  const done = unixNanoNow();
  const reply: WorkerMessage = {
    type: "result",
    task: msg.task,
    result,
    times: { prepare: prepare.toString(), execute: execute.toString(), done: done.toString() },
  };
  const transfer: Transferable[] = [];
  if ("ok" in result) {
    for (const b of [result.ok.stdout, result.ok.stderr, result.ok.artifacts]) {
      if (b && b.buffer instanceof ArrayBuffer && b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) transfer.push(b.buffer);
    }
  }
  scope.postMessage(reply, transfer);
};

scope.postMessage({ type: "ready" } satisfies WorkerMessage);
