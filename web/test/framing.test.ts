import { describe, expect, it } from "vitest";
import { FrameDecoder, FramingError, encodeFrame, encodeVarint } from "../src/lib/framing";
import { hex } from "./helpers";

function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe("varint length prefix (protocol.md §7)", () => {
  it("encodes the spec example: 300 → ac 02", () => {
    expect(hex(encodeVarint(300))).toBe("ac02");
    expect(hex(encodeVarint(0))).toBe("00");
    expect(hex(encodeVarint(127))).toBe("7f");
    expect(hex(encodeVarint(128))).toBe("8001");
    expect(hex(encodeVarint(64 * 1024 * 1024))).toBe("80808020");
  });

  it("prefixes a frame with its length", () => {
    expect(hex(encodeFrame(new Uint8Array([1, 2, 3])))).toBe("03010203");
  });
});

describe("FrameDecoder", () => {
  it("splits a stream of several frames delivered in one chunk", () => {
    const a = bytes(5, 1), b = bytes(300, 2), c = new Uint8Array(0);
    const stream = new Uint8Array([...encodeFrame(a), ...encodeFrame(b), ...encodeFrame(c)]);
    const frames = new FrameDecoder().push(stream);
    expect(frames.map((f) => f.length)).toEqual([5, 300, 0]);
    expect(frames[1]).toEqual(b);
  });

  it("reassembles frames delivered one byte at a time, prefix split included", () => {
    const payloads = [bytes(1000, 3), bytes(129, 4), bytes(1, 5)];
    const stream = new Uint8Array(payloads.flatMap((p) => [...encodeFrame(p)]));
    const d = new FrameDecoder();
    const got: Uint8Array[] = [];
    for (const byte of stream) got.push(...d.push(new Uint8Array([byte])));
    expect(got).toEqual(payloads);
    expect(d.pending).toBe(0);
  });

  it("returns a frame only once it is complete", () => {
    const p = bytes(10_000, 6);
    const f = encodeFrame(p);
    const d = new FrameDecoder();
    expect(d.push(f.subarray(0, 5000))).toEqual([]);
    expect(d.pending).toBe(5000 - 2); // the 2-byte prefix is consumed, the body is buffered
    const out = d.push(f.subarray(5000));
    expect(out).toHaveLength(1);
    expect(out[0]).toEqual(p);
  });

  it("rejects a length above the maximum before the body arrives", () => {
    const d = new FrameDecoder(1024);
    expect(() => d.push(encodeVarint(1025))).toThrow(FramingError);
    try {
      new FrameDecoder(1024).push(encodeVarint(5000));
    } catch (e) {
      expect((e as FramingError).code).toBe(1009);
    }
  });

  it("rejects a prefix longer than 10 bytes as a protocol error", () => {
    const d = new FrameDecoder(Number.MAX_SAFE_INTEGER);
    let err: unknown;
    try {
      d.push(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FramingError);
    expect((err as FramingError).code).toBe(1002);
  });
});
