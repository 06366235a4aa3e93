import { create, type Message } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { CallError, Messenger } from "../src/lib/messenger";
import {
  EnvelopeSchema,
  Envelope_MessageType,
  Event_ClusterInfoSchema,
  Filesystem_Listing_RequestSchema,
  Filesystem_Listing_ResponseSchema,
  PingSchema,
  Task_CancelSchema,
  pack,
  unpack,
} from "../src/lib/proto";
import { decodeBinary } from "../src/lib/codec";
import { MemoryTransport, unhex, wireVector } from "./helpers";

function setup(onRequest: (m: Message) => Promise<Message> = async () => create(PingSchema)) {
  const [a, b] = MemoryTransport.pair();
  const events: Message[] = [];
  const logs: string[] = [];
  const m = new Messenger(a, { onRequest, onEvent: (e) => events.push(e), log: (_l, t) => logs.push(t) });
  const done = m.run();
  return { m, peer: b, events, logs, done };
}

async function next(t: MemoryTransport) {
  const env = await t.receive();
  if (!env) throw new Error("closed");
  return env;
}

describe("Messenger", () => {
  it("numbers Requests and Events with separate counters starting at 1", async () => {
    const { m, peer } = setup();
    await m.sendEvent(create(Event_ClusterInfoSchema, { providers: 1 }));
    const req = m.request(create(PingSchema), PingSchema, 5000);
    await m.sendEvent(create(Event_ClusterInfoSchema, { providers: 2 }));
    const e1 = await next(peer);
    const r1 = await next(peer);
    const e2 = await next(peer);
    expect([e1.type, e1.sequence]).toEqual([Envelope_MessageType.Event, 1n]);
    expect([r1.type, r1.sequence]).toEqual([Envelope_MessageType.Request, 1n]);
    expect([e2.type, e2.sequence]).toEqual([Envelope_MessageType.Event, 2n]);
    await peer.send(create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Response, payload: pack(create(PingSchema)) }));
    await expect(req).resolves.toMatchObject({ $typeName: "wasimoff.v1.Ping" });
  });

  it("answers Requests with the peer's sequence, also for absent sequence (= 0)", async () => {
    const { peer } = setup(async () => create(Filesystem_Listing_ResponseSchema, { files: ["sha256:" + "a".repeat(64)] }));
    await peer.send(create(EnvelopeSchema, { sequence: 41n, type: Envelope_MessageType.Request, payload: pack(create(Filesystem_Listing_RequestSchema)) }));
    await peer.send(create(EnvelopeSchema, { type: Envelope_MessageType.Request, payload: pack(create(Filesystem_Listing_RequestSchema)) }));
    const a = await next(peer);
    const b = await next(peer);
    expect(a.sequence).toBe(41n);
    expect(b.sequence ?? 0n).toBe(0n);
    const u = unpack(a.payload!);
    expect(u.kind === "ok" && u.message).toMatchObject({ files: ["sha256:" + "a".repeat(64)] });
  });

  it("applies the receiver rules: missing payload, unknown type, bad payload, handler errors", async () => {
    const { peer, logs } = setup(async (m) => {
      if (m.$typeName === Task_CancelSchema.typeName) throw new CallError("unavailable", "binary not found in storage: x");
      throw new Error("boom");
    });
    await peer.send(create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Request }));
    await peer.send(create(EnvelopeSchema, { sequence: 2n, type: Envelope_MessageType.Request, payload: create(AnySchema, { typeUrl: "wasimoff/wasimoff.v1.Unknown" }) }));
    await peer.send(create(EnvelopeSchema, { sequence: 3n, type: Envelope_MessageType.Request, payload: create(AnySchema, { typeUrl: "wasimoff/wasimoff.v1.Task.Cancel", value: new Uint8Array([0xff]) }) }));
    await peer.send(create(EnvelopeSchema, { sequence: 4n, type: Envelope_MessageType.Request, payload: pack(create(Task_CancelSchema, { id: "1" })) }));
    await peer.send(create(EnvelopeSchema, { sequence: 5n, type: Envelope_MessageType.Request, payload: pack(create(PingSchema)) }));
    const answers = new Map<bigint, [string | undefined, string | undefined]>();
    for (let i = 0; i < 5; i++) {
      const e = await next(peer);
      expect(e.type).toBe(Envelope_MessageType.Response);
      expect(e.payload).toBeUndefined();
      answers.set(e.sequence!, [e.error, e.code]);
    }
    // The texts are the reference's (its peers read them); the codes are those of the native
    // provider's Messenger (a handler's plain exception is "unknown").
    expect(answers.get(1n)).toEqual(["missing payload", "invalid_argument"]);
    expect(answers.get(2n)).toEqual(["not implemented", "unimplemented"]);
    expect(answers.get(3n)?.[0]).toMatch(/^bad payload: /);
    expect(answers.get(3n)?.[1]).toBe("invalid_argument");
    expect(answers.get(4n)).toEqual(["binary not found in storage: x", "unavailable"]);
    expect(answers.get(5n)).toEqual(["boom", "unknown"]);
    // Only the unexpected exception is logged as a handler failure.
    expect(logs.filter((l) => l.startsWith("handler for"))).toEqual(["handler for wasimoff.v1.Ping failed: boom"]);
  });

  it("puts a CallError's code beside its unchanged text, for every code", async () => {
    const codes = ["canceled", "resource_exhausted", "failed_precondition", "internal", "deadline_exceeded"] as const;
    let i = 0;
    const { peer } = setup(async () => {
      const code = codes[i++];
      throw new CallError(code, `${code}: text as it was`);
    });
    for (let s = 1; s <= codes.length; s++) {
      await peer.send(create(EnvelopeSchema, { sequence: BigInt(s), type: Envelope_MessageType.Request, payload: pack(create(PingSchema)) }));
      const e = await next(peer);
      expect([e.sequence, e.error, e.code, e.payload]).toEqual([BigInt(s), `${codes[s - 1]}: text as it was`, codes[s - 1], undefined]);
    }
  });

  it("keeps reading while a handler is busy (Ping answered during a long task)", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { peer } = setup(async (m) => {
      if (m.$typeName === Task_CancelSchema.typeName) await gate;
      return m.$typeName === Task_CancelSchema.typeName ? m : create(PingSchema);
    });
    await peer.send(create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Request, payload: pack(create(Task_CancelSchema, { id: "7" })) }));
    await peer.send(create(EnvelopeSchema, { sequence: 2n, type: Envelope_MessageType.Request, payload: pack(create(PingSchema)) }));
    expect((await next(peer)).sequence).toBe(2n);
    release();
    expect((await next(peer)).sequence).toBe(1n);
  });

  it("fails calls with the Response error, a wrong payload type, or on close", async () => {
    const { m, peer, done } = setup();
    const a = m.request(create(PingSchema), PingSchema, 5000);
    const b = m.request(create(PingSchema), PingSchema, 5000);
    const c = m.request(create(PingSchema), PingSchema, 5000);
    await peer.send(create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Response, error: "not implemented" }));
    await peer.send(create(EnvelopeSchema, { sequence: 2n, type: Envelope_MessageType.Response, payload: pack(create(Task_CancelSchema)) }));
    await expect(a).rejects.toThrow("not implemented");
    await expect(a).rejects.toMatchObject({ code: "unimplemented", answered: true });
    await expect(b).rejects.toThrow("unexpected response payload wasimoff.v1.Task.Cancel");
    await expect(b).rejects.toMatchObject({ code: "internal", answered: false });
    peer.close(1000, "bye!");
    await expect(c).rejects.toThrow(/closed/);
    await expect(c).rejects.toMatchObject({ code: "unavailable", answered: false });
    await expect(done).resolves.toEqual({ code: 1000, reason: "bye!" });
    await expect(m.request(create(PingSchema), PingSchema, 5000)).rejects.toMatchObject({ code: "unavailable" });
  });

  it("fails calls with the status of the error Response: its code, else the reference's text", async () => {
    const { m, peer } = setup();
    const coded = wireVector("coded error response"); // sequence 6, not_found
    const calls = Array.from({ length: 6 }, () => m.request(create(PingSchema), PingSchema, 5000));
    const answer = (sequence: bigint, error: string, code?: string) =>
      peer.send(create(EnvelopeSchema, { sequence, type: Envelope_MessageType.Response, error, code }));
    await answer(1n, "timeout: no response within 10 s"); // a reference peer: the text decides
    await answer(2n, "CompileError: bad magic", "unknown");
    await answer(3n, "task canceled: x", "canceled");
    await answer(4n, "not implemented", "bogus");
    await answer(5n, "hash mismatch");
    await peer.send(decodeBinary(unhex(coded.hex)));
    const got = await Promise.all(calls.map((c) => c.then(() => undefined, (e: unknown) => e)));
    for (const e of got) expect(e).toBeInstanceOf(CallError);
    expect(got.map((e) => [(e as CallError).code, (e as CallError).message, (e as CallError).answered])).toEqual([
      ["deadline_exceeded", "timeout: no response within 10 s", true],
      ["failed_precondition", "CompileError: bad magic", true],
      ["canceled", "task canceled: x", true],
      ["unimplemented", "not implemented", true],
      ["unknown", "hash mismatch", true],
      ["not_found", "file not found in storage: sha256:00", true],
    ]);
  });

  it("drops Responses for unknown sequences and ignores untyped Envelopes", async () => {
    const { peer, logs, events } = setup();
    await peer.send(create(EnvelopeSchema, { sequence: 99n, type: Envelope_MessageType.Response, payload: pack(create(PingSchema)) }));
    await peer.send(create(EnvelopeSchema, { sequence: 1n }));
    await peer.send(create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Event, payload: pack(create(Event_ClusterInfoSchema, { providers: 3 })) }));
    await new Promise((r) => setTimeout(r, 10));
    expect(logs.some((l) => l.includes("unknown sequence 99"))).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ providers: 3 });
  });

  it("times out Requests that get no answer", async () => {
    const { m } = setup();
    await expect(m.request(create(PingSchema), PingSchema, 20)).rejects.toThrow(/timed out/);
    await expect(m.request(create(PingSchema), PingSchema, 20)).rejects.toMatchObject({ code: "deadline_exceeded", answered: false });
    expect(m.outstanding).toBe(0);
  });

  it("starts the event counter where the transport left it (WebTransport first message)", async () => {
    const [a, b] = MemoryTransport.pair();
    const m = new Messenger(a, { onRequest: async () => create(PingSchema), onEvent: () => {} }, 2n);
    void m.run();
    await m.sendEvent(create(Event_ClusterInfoSchema));
    expect((await next(b)).sequence).toBe(2n);
  });
});
