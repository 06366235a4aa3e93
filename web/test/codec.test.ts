import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { decodeBinary, decodeJson, encodeBinary, encodeJson, payloadError, codecForSubprotocol } from "../src/lib/codec";
import {
  EnvelopeSchema,
  Envelope_MessageType,
  Event_ProviderResourcesSchema,
  Event_ThroughputSchema,
  Filesystem_Listing_RequestSchema,
  Task_CancelSchema,
  Task_Wasip1_OutputSchema,
  Task_Wasip1_ResponseSchema,
  Task_MetadataSchema,
  pack,
  unpack,
} from "../src/lib/proto";
import { hex, unhex } from "./helpers";

// docs/protocol.md §5
const V1 = "0801100122310a2f" + Buffer.from("wasimoff/wasimoff.v1.Filesystem.Listing.Request").toString("hex");
const V2 = "0800100322340a2c776173696d6f66662f776173696d6f66662e76312e4576656e742e50726f76696465725265736f7572636573120408041000";
const V5 = "080510021a136e6f7420696d706c656d656e74656420796574";
const V6 = "08041001223a0a20776173696d6f66662f776173696d6f66662e76312e5461736b2e43616e63656c12160a0231371210636f6e746578742063616e63656c6564";
const V7 = "08031002223c0a29776173696d6f66662f776173696d6f66662e76312e5461736b2e5761736970312e526573706f6e7365120f0a040a0231371a070800120368690a";
const V8 = "08071003222e0a25776173696d6f66662f776173696d6f66662e76312e4576656e742e5468726f75676870757412050d00004841";

describe("binary codec (protocol.md §5 vectors)", () => {
  it("encodes vector 1: Listing.Request seq 1", () => {
    const env = create(EnvelopeSchema, { sequence: 1n, type: Envelope_MessageType.Request, payload: pack(create(Filesystem_Listing_RequestSchema)) });
    expect(hex(encodeBinary(env))).toBe(V1);
  });

  it("encodes vector 2 with the present zero field tasks:0", () => {
    const env = create(EnvelopeSchema, {
      sequence: 0n,
      type: Envelope_MessageType.Event,
      payload: pack(create(Event_ProviderResourcesSchema, { concurrency: 4, tasks: 0 })),
    });
    expect(hex(encodeBinary(env))).toBe(V2);
  });

  it("encodes vector 5 (error-only Response) and vector 7 (status 0 present)", () => {
    expect(hex(encodeBinary(create(EnvelopeSchema, { sequence: 5n, type: Envelope_MessageType.Response, error: "not implemented yet" })))).toBe(V5);
    const res = create(Task_Wasip1_ResponseSchema, {
      info: create(Task_MetadataSchema, { id: "17" }),
      result: { case: "ok", value: create(Task_Wasip1_OutputSchema, { status: 0, stdout: new TextEncoder().encode("hi\n") }) },
    });
    expect(hex(encodeBinary(create(EnvelopeSchema, { sequence: 3n, type: Envelope_MessageType.Response, payload: pack(res) })))).toBe(V7);
  });

  it("decodes vector 6 (Task.Cancel) and vector 8 (float 12.5)", () => {
    const cancel = decodeBinary(unhex(V6));
    expect(cancel.sequence).toBe(4n);
    expect(cancel.type).toBe(Envelope_MessageType.Request);
    const u = unpack(cancel.payload!);
    expect(u.kind).toBe("ok");
    if (u.kind === "ok") {
      expect(u.message.$typeName).toBe(Task_CancelSchema.typeName);
      expect(u.message).toMatchObject({ id: "17", reason: "context canceled" });
    }
    const tp = unpack(decodeBinary(unhex(V8)).payload!);
    expect(tp.kind === "ok" && tp.message.$typeName).toBe(Event_ThroughputSchema.typeName);
    expect(tp.kind === "ok" && (tp.message as { overall?: number }).overall).toBe(12.5);
  });

  it("resolves payload types by the suffix after the last slash", () => {
    for (const prefix of ["type.googleapis.com/", "", "x/y/"]) {
      const any = pack(create(Task_CancelSchema, { id: "1" }));
      any.typeUrl = prefix + "wasimoff.v1.Task.Cancel";
      const u = unpack(any);
      expect(u.kind).toBe("ok");
    }
  });

  it("reports unknown and undecodable payloads instead of throwing", () => {
    const any = pack(create(Task_CancelSchema, { id: "1" }));
    expect(unpack({ ...any, typeUrl: "wasimoff/wasimoff.v1.Nope" }).kind).toBe("unknown");
    expect(unpack({ ...any, value: new Uint8Array([0xff]) }).kind).toBe("bad");
  });

  it("rejects bytes that are not an Envelope", () => {
    expect(() => decodeBinary(new Uint8Array([0xff, 0xff, 0xff]))).toThrow();
  });
});

describe("JSON codec (protocol.md §4.2)", () => {
  it("decodes the spec examples", () => {
    const a = decodeJson('{"sequence":"1","type":"Request","payload":{"@type":"wasimoff/wasimoff.v1.Filesystem.Listing.Request"}}');
    expect(a.sequence).toBe(1n);
    expect(a.type).toBe(Envelope_MessageType.Request);
    expect(unpack(a.payload!).kind).toBe("ok");
    const b = decodeJson('{"sequence":"0","type":"Event","payload":{"@type":"wasimoff/wasimoff.v1.Event.ProviderResources","concurrency":4,"tasks":0}}');
    const u = unpack(b.payload!);
    expect(u.kind === "ok" && u.message).toMatchObject({ concurrency: 4, tasks: 0 });
    const c = decodeJson('{"sequence":3,"type":2,"payload":{"@type":"type.googleapis.com/wasimoff.v1.Task.Wasip1.Response","info":{"id":"17"},"ok":{"status":0,"stdout":"aGkK"}}}');
    const r = unpack(c.payload!);
    expect(r.kind).toBe("ok");
    if (r.kind === "ok") {
      const res = r.message as unknown as { result: { case: string; value: { status: number; stdout: Uint8Array } } };
      expect(res.result.case).toBe("ok");
      expect(new TextDecoder().decode(res.result.value.stdout)).toBe("hi\n");
      expect(res.result.value.status).toBe(0);
    }
  });

  it("writes 64-bit integers as strings, enums as names, present zeros and the wasimoff/ type URL", () => {
    const env = create(EnvelopeSchema, {
      sequence: 7n,
      type: Envelope_MessageType.Event,
      payload: pack(create(Event_ProviderResourcesSchema, { concurrency: 2, tasks: 0 })),
    });
    expect(JSON.parse(encodeJson(env))).toEqual({
      sequence: "7",
      type: "Event",
      payload: { "@type": "wasimoff/wasimoff.v1.Event.ProviderResources", concurrency: 2, tasks: 0 },
    });
  });

  it("keeps Envelopes with unknown payload types and unknown fields", () => {
    const e = decodeJson('{"sequence":"9","type":"Request","extra":1,"payload":{"@type":"wasimoff/wasimoff.v1.Future.Thing","x":1}}');
    expect(e.sequence).toBe(9n);
    expect(unpack(e.payload!).kind).toBe("unknown");
  });

  it("marks payloads whose fields do not match their type", () => {
    const e = decodeJson('{"sequence":"2","type":"Request","payload":{"@type":"wasimoff/wasimoff.v1.Task.Cancel","id":{"not":"a string"}}}');
    expect(e.sequence).toBe(2n);
    expect(payloadError(e)).toBeTruthy();
  });

  it("rejects text that is not an Envelope object", () => {
    expect(() => decodeJson("[1,2]")).toThrow();
    expect(() => decodeJson("nope")).toThrow();
    expect(() => decodeJson('{"payload":{"x":1}}')).toThrow(/@type/);
  });

  it("maps subprotocol names to codecs", () => {
    expect(codecForSubprotocol("wasimoff_provider_v1_protobuf")).toBe("protobuf");
    expect(codecForSubprotocol("wasimoff_provider_v1_json")).toBe("json");
    expect(codecForSubprotocol("")).toBeUndefined();
  });
});
