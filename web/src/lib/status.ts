// Errors on the provider wire as status codes (docs/protocol.md §3.3), the page's copy of
// src/common/status.h (the code names) and src/protocol/wire_status.h (reading them back).
//
// An Envelope Response that failed carries the text in `error` and, from our peers, its Connect
// code name in `code`. The reference implementation sends only the text; its texts with a known
// meaning are recognised here by their documented prefixes, and nowhere else: everything above
// this file branches on the code.
import { ERRORS, STATUS } from "../gen/contract";

/** The Connect code names (docs/http-api.md §4.2), in gRPC/Connect order; "ok" is no failure. */
export const CODES = STATUS.codes;

/** A failure's Connect code name, as it travels in Envelope.code. */
export type Code = (typeof CODES)[number];

/** A failure: the code to branch on and the text for people (never parsed above this file). */
export interface Status {
  code: Code;
  message: string;
}

const known: ReadonlySet<string> = new Set(CODES);

/** Whether `name` is a Connect code name of a failure (exact spelling; "ok" is not one). */
export function isCode(name: string): name is Code {
  return known.has(name);
}

/**
 * True for the texts with which providers refuse a task's module: "unsupported module: …" (ours),
 * "CompileError: …" and "LinkError: …" (the reference page's WebAssembly exceptions).
 */
export function isModuleRefusal(error: string): boolean {
  return ["unsupported module:", "CompileError:", "LinkError:"].some((p) => error.startsWith(p));
}

/**
 * The status of a received error (C++ protocol::status_from_wire). A known `code` other than
 * "unknown" wins; otherwise the text decides: "not implemented…" → unimplemented, "timeout…" →
 * deadline_exceeded, "output too large…" → resource_exhausted, a module refusal →
 * failed_precondition, anything else → unknown. The message is kept as it is.
 */
export function statusFromWire(code: string | undefined, message: string): Status {
  if (code !== undefined && isCode(code) && code !== "unknown") return { code, message };
  let guessed: Code = "unknown";
  if (message.startsWith(ERRORS.notImplemented)) guessed = "unimplemented";
  else if (message.startsWith("timeout")) guessed = "deadline_exceeded";
  else if (message.startsWith(ERRORS.outputTooLarge)) guessed = "resource_exhausted";
  else if (isModuleRefusal(message)) guessed = "failed_precondition";
  return { code: guessed, message };
}
