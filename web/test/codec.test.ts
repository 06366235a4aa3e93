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
  TYPE_URL_PREFIX,
  typeNameOf,
  pack,
  unpack,
} from "../src/lib/proto";
import { statusFromWire } from "../src/lib/status";
import { hex, unhex, wireVector, wireVectors } from "./helpers";

// docs/protocol.md §5, from tests/data/wire_vectors.json
const V1 = wireVector("listing request").hex;
const V2 = wireVector("provider resources").hex;
const V5 = wireVector("error response").hex;
const V6 = wireVector("cancel").hex;
const V7 = wireVector("wasip1 response").hex;
const V8 = wireVector("throughput").hex;
const CODED = wireVector("coded error response");

describe("wire vectors (tests/data/wire_vectors.json)", () => {
  it("holds the 8 vectors of docs/protocol.md §5", () => {
    expect(wireVectors.flatMap((v) => (v.spec ? [v.spec] : [])).sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  for (const v of wireVectors) {
    it(`${v.name}: decodes to its description and re-encodes byte-identically`, () => {
      const env = decodeBinary(unhex(v.hex));
      expect(env.sequence).toBe(BigInt(v.sequence));
      expect(Envelope_MessageType[env.type!]).toBe(v.type);
      expect(env.payload?.typeUrl).toBe(v.payload === null ? undefined : TYPE_URL_PREFIX + v.payload);
      expect(hex(encodeBinary(env))).toBe(v.hex);
    });

    it(`${v.name}: its JSON forms decode to the same Envelope, and it encodes to its JSON`, () => {
      const want = decodeBinary(unhex(v.hex));
      expect(hex(encodeBinary(decodeJson(v.json)))).toBe(v.hex);
      // The lenient forms' other type URL prefixes are kept as they are, unlike in the C++ codec.
      for (const json of v.json_lenient ?? []) {
        const got = decodeJson(json);
        expect([got.sequence, got.type, got.error, got.code]).toEqual([want.sequence, want.type, want.error, want.code]);
        expect(got.payload && typeNameOf(got.payload.typeUrl)).toBe(want.payload && typeNameOf(want.payload.typeUrl));
        expect(got.payload && hex(got.payload.value)).toBe(want.payload && hex(want.payload.value));
      }
      expect(JSON.parse(encodeJson(want))).toEqual(JSON.parse(v.json));
    });
  }
});

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

  it("encodes and decodes the coded error response (Envelope.code, field 5)", () => {
    const error = "file not found in storage: sha256:00";
    const env = create(EnvelopeSchema, { sequence: 6n, type: Envelope_MessageType.Response, error, code: "not_found" });
    expect(hex(encodeBinary(env))).toBe(CODED.hex);
    expect(JSON.parse(encodeJson(env))).toEqual(JSON.parse(CODED.json));
    for (const got of [decodeBinary(unhex(CODED.hex)), decodeJson(CODED.json), ...(CODED.json_lenient ?? []).map(decodeJson)]) {
      expect([got.sequence, got.type, got.error, got.code, got.payload]).toEqual([6n, Envelope_MessageType.Response, error, "not_found", undefined]);
      expect(statusFromWire(got.code, got.error!)).toEqual({ code: "not_found", message: error });
    }
    // Without field 5 (the reference's form, vector 5) the text decides.
    const plain = decodeBinary(unhex(V5));
    expect(plain.code).toBeUndefined();
    expect(statusFromWire(plain.code, plain.error!)).toEqual({ code: "unimplemented", message: "not implemented yet" });
    // Field 5 is appended after the reference's fields: without it the bytes are the reference's.
    const field5 = "2a09" + hex(new TextEncoder().encode("not_found"));
    expect(CODED.hex.endsWith(field5)).toBe(true);
    expect(hex(encodeBinary(create(EnvelopeSchema, { sequence: 6n, type: Envelope_MessageType.Response, error })))).toBe(CODED.hex.slice(0, -field5.length));
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
    const a = decodeJson(wireVector("listing request").json);
    expect(a.sequence).toBe(1n);
    expect(a.type).toBe(Envelope_MessageType.Request);
    expect(unpack(a.payload!).kind).toBe("ok");
    const b = decodeJson(wireVector("provider resources").json);
    const u = unpack(b.payload!);
    expect(u.kind === "ok" && u.message).toMatchObject({ concurrency: 4, tasks: 0 });
    // numbers for sequence and type, the type.googleapis.com/ prefix
    const c = decodeJson(wireVector("wasip1 response").json_lenient![0]);
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
