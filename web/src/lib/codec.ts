// Envelope codecs (docs/protocol.md §4): binary protobuf (WebSocket "…_protobuf" subprotocol and
// WebTransport) and canonical proto3 JSON (WebSocket "…_json" subprotocol).
//
// Decoded Envelopes always carry their payload as a binary Any, whatever the codec, so the
// Messenger handles both the same way. A JSON payload whose "@type" is not in our schema cannot be
// converted to binary; it is kept as an Any with that type URL and an empty value, which the
// Messenger then treats as an unknown type (→ "not implemented" for Requests), instead of failing
// the whole Envelope.
import { create, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { EnvelopeSchema, registry, typeNameOf, type Envelope } from "./proto";
import { SUBPROTOCOLS } from "../gen/contract";

export type Codec = "protobuf" | "json";

const payloadErrors = new WeakMap<Envelope, string>();

/**
 * Why a decoded Envelope's payload could not be converted (JSON only: the inner object did not
 * match its declared type). The Messenger answers such Requests with "bad payload: <detail>".
 */
export function payloadError(env: Envelope): string | undefined {
  return payloadErrors.get(env);
}

/** WebSocket subprotocol names (docs/protocol.md §2.2, §6), in our order of preference. */
export { SUBPROTOCOLS };

/** Maps a negotiated WebSocket subprotocol to its codec; undefined when it is not ours. */
export function codecForSubprotocol(protocol: string): Codec | undefined {
  if (protocol === SUBPROTOCOLS.protobuf) return "protobuf";
  if (protocol === SUBPROTOCOLS.json) return "json";
  return undefined;
}

export function encodeBinary(env: Envelope): Uint8Array {
  return toBinary(EnvelopeSchema, env);
}

/** Decodes a binary Envelope; throws on malformed bytes (a protocol error for the caller). */
export function decodeBinary(bytes: Uint8Array): Envelope {
  return fromBinary(EnvelopeSchema, bytes);
}

export function encodeJson(env: Envelope): string {
  // Our payload type URLs are "wasimoff/…"; toJson writes "@type" verbatim and resolves the
  // inner message through the registry.
  return JSON.stringify(toJson(EnvelopeSchema, env, { registry }));
}

/** Decodes a JSON Envelope; throws when the text is not a JSON object shaped like an Envelope. */
export function decodeJson(text: string): Envelope {
  const json: JsonValue = JSON.parse(text);
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Error("envelope is not a JSON object");
  }
  const { payload, ...rest } = json as JsonObject;
  const env = fromJson(EnvelopeSchema, rest, { ignoreUnknownFields: true });
  if (payload !== undefined && payload !== null) {
    if (typeof payload !== "object" || Array.isArray(payload)) {
      throw new Error("envelope payload is not a JSON object");
    }
    const typeUrl = (payload as JsonObject)["@type"];
    if (typeof typeUrl !== "string" || typeUrl === "") {
      throw new Error('envelope payload has no "@type"');
    }
    const desc = registry.getMessage(typeNameOf(typeUrl));
    if (!desc) {
      env.payload = create(AnySchema, { typeUrl, value: new Uint8Array(0) });
    } else {
      const { "@type": _ignored, ...fields } = payload as JsonObject;
      void _ignored;
      try {
        const inner = fromJson(desc, fields, { ignoreUnknownFields: true });
        env.payload = create(AnySchema, { typeUrl, value: toBinary(desc, inner) });
      } catch (e) {
        // Keep the Envelope (its sequence is needed for the error Response) and remember why
        // its payload is unusable.
        env.payload = create(AnySchema, { typeUrl, value: new Uint8Array(0) });
        payloadErrors.set(env, e instanceof Error ? e.message : String(e));
      }
    }
  }
  return env;
}

export function encode(codec: Codec, env: Envelope): Uint8Array | string {
  return codec === "protobuf" ? encodeBinary(env) : encodeJson(env);
}
