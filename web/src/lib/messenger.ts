// Request/response/event RPC over a Transport (docs/protocol.md §3).
//
// * Outgoing Requests and Events are numbered by two independent counters starting at 1.
// * Incoming Requests are handled concurrently (the read loop never waits for a handler, so Ping
//   and Task.Cancel are answered while tasks run); each gets exactly one Response with the
//   Request's sequence (absent = 0).
// * Responses are matched to pending Requests by sequence; unknown sequences are logged and dropped.
// * Failures carry a Connect code (status.ts): our error Responses set Envelope.code beside the
//   unchanged `error` text, and failed calls reject with a CallError whose code callers branch on.
import { create } from "@bufbuild/protobuf";
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import { payloadError } from "./codec";
import { EnvelopeSchema, Envelope_MessageType, pack, unpack, type Envelope } from "./proto";
import { statusFromWire, type Code } from "./status";
import type { CloseInfo, Transport } from "./transport";
import { ERRORS } from "../gen/contract";

/**
 * A call that failed as a whole, with its Connect code.
 *
 * Thrown by a request handler, it becomes the error Response: the text goes into Envelope.error
 * (e.g. "binary not found in storage: sha256:…") and the code into Envelope.code. Any other
 * exception does the same with its message and the code "unknown" (and is logged), like the
 * native provider's Messenger.
 *
 * request() rejects with it: `answered` = the peer's error Response (code from statusFromWire);
 * otherwise the call failed here (deadline_exceeded: no answer in time, unavailable: the
 * connection is gone, internal: an unexpected payload, resource_exhausted: too many calls).
 */
export class CallError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly answered = false,
  ) {
    super(message);
    this.name = "CallError";
  }
}

/** Handler result for Request types this provider does not serve. */
export const NOT_IMPLEMENTED = ERRORS.notImplemented;

export interface MessengerHandlers {
  /** Answers one Request; resolves with the Response payload. Throw CallError to fail the call. */
  onRequest(message: Message): Promise<Message>;
  /** Receives one Event (called in arrival order, synchronously from the read loop). */
  onEvent(message: Message): void;
  /** Diagnostics (unknown sequences, ignored messages, handler failures). */
  log?(level: "debug" | "warn", text: string): void;
}

interface Pending {
  resolve(m: Message): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Upper bound on our own outstanding Requests. */
const MAX_PENDING = 1024;

export class Messenger {
  private nextRequest = 1n;
  private nextEvent = 1n;
  private pending = new Map<bigint, Pending>();
  private closeInfo: CloseInfo | undefined;

  /**
   * @param firstEvent  sequence of the next Event; 2 when the transport already carried Event 1
   *                    (WebTransport writes ProviderResources while opening the stream).
   */
  constructor(
    readonly transport: Transport,
    private readonly handlers: MessengerHandlers,
    firstEvent = 1n,
  ) {
    this.nextEvent = firstEvent;
  }

  /**
   * Reads until the transport closes; resolves with how it ended. Pending Requests then fail with
   * "provider disconnected"-style errors.
   */
  async run(): Promise<CloseInfo> {
    for (;;) {
      const env = await this.transport.receive();
      if (env === null) break;
      this.dispatch(env);
    }
    const info = await this.transport.closed;
    this.closeInfo = info;
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CallError("unavailable", `connection closed (${info.code} ${info.reason})`.trim()));
      this.pending.delete(seq);
    }
    return info;
  }

  /** Sends an Event with the next event sequence number. */
  async sendEvent(message: Message): Promise<void> {
    const env = create(EnvelopeSchema, {
      sequence: this.nextEvent++,
      type: Envelope_MessageType.Event,
      payload: pack(message),
    });
    await this.transport.send(env);
  }

  /**
   * Sends a Request and resolves with the Response payload decoded as `schema`. Rejects with a
   * CallError: the Response's error, "unexpected response payload <type>", a timeout, or a closed
   * transport.
   */
  async request<Desc extends DescMessage>(
    message: Message,
    schema: Desc,
    timeoutMs: number,
  ): Promise<MessageShape<Desc>> {
    if (this.closeInfo) throw new CallError("unavailable", "connection closed");
    if (this.pending.size >= MAX_PENDING) throw new CallError("resource_exhausted", "too many outstanding requests");
    const seq = this.nextRequest++;
    const env = create(EnvelopeSchema, {
      sequence: seq,
      type: Envelope_MessageType.Request,
      payload: pack(message),
    });
    const answer = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new CallError("deadline_exceeded", `request ${message.$typeName} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, { resolve, reject, timer });
    });
    try {
      await this.transport.send(env);
    } catch (e) {
      const p = this.pending.get(seq);
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(seq);
      }
      throw e instanceof CallError ? e : new CallError("unavailable", errorText(e));
    }
    const got = await answer;
    if (got.$typeName !== schema.typeName) {
      throw new CallError("internal", `unexpected response payload ${got.$typeName}`);
    }
    return got as MessageShape<Desc>;
  }

  /** Number of our Requests still waiting for a Response. */
  get outstanding(): number {
    return this.pending.size;
  }

  private log(level: "debug" | "warn", text: string) {
    this.handlers.log?.(level, text);
  }

  private dispatch(env: Envelope): void {
    const seq = env.sequence ?? 0n;
    switch (env.type) {
      case Envelope_MessageType.Request:
        void this.answer(seq, env);
        return;
      case Envelope_MessageType.Response:
        this.settle(seq, env);
        return;
      case Envelope_MessageType.Event: {
        if (!env.payload) {
          this.log("debug", `event ${seq} without payload ignored`);
          return;
        }
        const u = unpack(env.payload);
        if (u.kind !== "ok" || payloadError(env) !== undefined) {
          this.log("debug", `event of type ${u.kind === "ok" ? u.message.$typeName : u.typeName} ignored`);
          return;
        }
        try {
          this.handlers.onEvent(u.message);
        } catch (e) {
          this.log("warn", `event handler failed: ${errorText(e)}`);
        }
        return;
      }
      default:
        this.log("debug", `envelope of type ${env.type ?? "absent"} ignored`);
    }
  }

  private settle(seq: bigint, env: Envelope): void {
    const p = this.pending.get(seq);
    if (!p) {
      this.log("debug", `response for unknown sequence ${seq} dropped`);
      return;
    }
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (env.error) {
      const status = statusFromWire(env.code, env.error);
      p.reject(new CallError(status.code, status.message, true));
      return;
    }
    if (!env.payload) {
      p.reject(new CallError("internal", "unexpected response payload <none>"));
      return;
    }
    const u = unpack(env.payload);
    const bad = payloadError(env);
    if (u.kind !== "ok" || bad !== undefined) {
      p.reject(new CallError("internal", `unexpected response payload ${u.kind === "ok" ? u.message.$typeName : u.typeName}`));
      return;
    }
    p.resolve(u.message);
  }

  private async answer(seq: bigint, env: Envelope): Promise<void> {
    const reply = create(EnvelopeSchema, { sequence: seq, type: Envelope_MessageType.Response });
    const fail = (code: Code, text: string) => {
      reply.error = text;
      reply.code = code;
    };
    if (!env.payload) {
      fail("invalid_argument", ERRORS.missingPayload);
    } else {
      const u = unpack(env.payload);
      const bad = payloadError(env);
      if (u.kind === "unknown") {
        fail("unimplemented", NOT_IMPLEMENTED);
      } else if (u.kind === "bad" || bad !== undefined) {
        fail("invalid_argument", ERRORS.badPayloadPrefix + (u.kind === "bad" ? u.detail : bad));
      } else {
        try {
          reply.payload = pack(await this.handlers.onRequest(u.message));
        } catch (e) {
          const text = errorText(e) || "internal error";
          if (e instanceof CallError) {
            fail(e.code, text);
          } else {
            fail("unknown", text);
            this.log("warn", `handler for ${u.message.$typeName} failed: ${text}`);
          }
        }
      }
    }
    try {
      await this.transport.send(reply);
    } catch (e) {
      this.log("debug", `response ${seq} not sent: ${errorText(e)}`);
    }
  }
}

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
