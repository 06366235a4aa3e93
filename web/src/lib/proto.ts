// Payload packing for the wasimoff wire protocol (docs/protocol.md §3.4).
//
// Every Envelope payload is a google.protobuf.Any whose type URL is "wasimoff/<full name>". On
// input only the part after the last "/" counts, so "type.googleapis.com/…" and bare names are
// accepted too. The registry lists every message of the schema; a payload whose type is not in it
// is "unknown" (the Messenger answers such Requests with "not implemented").
import { create, createRegistry, fromBinary, toBinary } from "@bufbuild/protobuf";
import type { DescMessage, Message, MessageShape } from "@bufbuild/protobuf";
import { AnySchema, type Any } from "@bufbuild/protobuf/wkt";
import { file_wasimoff_v1_extensions } from "../gen/wasimoff/v1/extensions_pb";
import { file_wasimoff_v1_messages } from "../gen/wasimoff/v1/messages_pb";
import { PAYLOAD } from "../gen/contract";

export * from "../gen/wasimoff/v1/extensions_pb";
export * from "../gen/wasimoff/v1/messages_pb";

/** All messages of the wasimoff schema (v1 and our extensions), to resolve Any payloads. */
export const registry = createRegistry(file_wasimoff_v1_messages, file_wasimoff_v1_extensions);

/** The type URL prefix we write (wasimoff v1 compatibility). */
export const TYPE_URL_PREFIX = PAYLOAD.typeUrlPrefix;

/** Fully-qualified message name from a type URL: the text after the last "/" (or all of it). */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf("/");
  return slash >= 0 ? typeUrl.substring(slash + 1) : typeUrl;
}

/** Packs a message into an Any with the "wasimoff/" type URL prefix. */
export function pack(message: Message): Any {
  const desc = registry.getMessage(message.$typeName);
  if (!desc) throw new Error(`pack: ${message.$typeName} is not part of the wasimoff schema`);
  return create(AnySchema, {
    typeUrl: TYPE_URL_PREFIX + message.$typeName,
    value: toBinary(desc, message),
  });
}

/** Result of resolving an Any: the message, or why it could not be used. */
export type Unpacked =
  | { kind: "ok"; message: Message }
  | { kind: "unknown"; typeName: string }
  | { kind: "bad"; typeName: string; detail: string };

/** Resolves and decodes an Any payload against the schema registry. */
export function unpack(any: Any): Unpacked {
  const typeName = typeNameOf(any.typeUrl);
  const desc = registry.getMessage(typeName);
  if (!desc) return { kind: "unknown", typeName };
  try {
    return { kind: "ok", message: fromBinary(desc, any.value) };
  } catch (e) {
    return { kind: "bad", typeName, detail: e instanceof Error ? e.message : String(e) };
  }
}

/** Narrowing helper: is `message` an instance of `schema`? */
export function isMessage<Desc extends DescMessage>(
  message: Message,
  schema: Desc,
): message is MessageShape<Desc> {
  return message.$typeName === schema.typeName;
}
