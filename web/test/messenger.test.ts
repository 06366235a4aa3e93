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
import { MemoryTransport } from "./helpers";

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
    const { peer } = setup(async (m) => {
      if (m.$typeName === Task_CancelSchema.typeName) throw new CallError("binary not found in storage: x");
      throw new Error("boom");
    });
    await peer.send(create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Request }));
    await peer.send(create(EnvelopeSchema, { sequence: 2n, type: Envelope_MessageType.Request, payload: create(AnySchema, { typeUrl: "wasimoff/wasimoff.v1.Unknown" }) }));
    await peer.send(create(EnvelopeSchema, { sequence: 3n, type: Envelope_MessageType.Request, payload: create(AnySchema, { typeUrl: "wasimoff/wasimoff.v1.Task.Cancel", value: new Uint8Array([0xff]) }) }));
    await peer.send(create(EnvelopeSchema, { sequence: 4n, type: Envelope_MessageType.Request, payload: pack(create(Task_CancelSchema, { id: "1" })) }));
    await peer.send(create(EnvelopeSchema, { sequence: 5n, type: Envelope_MessageType.Request, payload: pack(create(PingSchema)) }));
    const answers = new Map<bigint, string | undefined>();
    for (let i = 0; i < 5; i++) {
      const e = await next(peer);
      expect(e.type).toBe(Envelope_MessageType.Response);
      expect(e.payload).toBeUndefined();
      answers.set(e.sequence!, e.error);
    }
    expect(answers.get(1n)).toBe("missing payload");
    expect(answers.get(2n)).toBe("not implemented");
    expect(answers.get(3n)).toMatch(/^bad payload: /);
    expect(answers.get(4n)).toBe("binary not found in storage: x");
    expect(answers.get(5n)).toBe("boom");
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
    await expect(b).rejects.toThrow("unexpected response payload wasimoff.v1.Task.Cancel");
    peer.close(1000, "bye!");
    await expect(c).rejects.toThrow(/closed/);
    await expect(done).resolves.toEqual({ code: 1000, reason: "bye!" });
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
