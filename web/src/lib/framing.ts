// Length-delimited framing for the WebTransport message stream (docs/protocol.md §7): every
// Envelope is preceded by its length as a protobuf base-128 varint (at most 10 bytes).
//
// FrameDecoder keeps received chunks in a list and copies bytes only once a complete frame is
// available (plus the few prefix bytes), so a large Envelope arriving in many small QUIC chunks
// costs one copy, not one per chunk.
import { LIMITS } from "../gen/contract";

/** Largest frame we accept, matching the Broker's default WASIMOFF_MAX_MESSAGE_SIZE (64 MiB). */
export const DEFAULT_MAX_FRAME: number = LIMITS.maxMessageSizeDefault;

/** A violation of the framing rules; the session must be closed with code 1002 or 1009. */
export class FramingError extends Error {
  constructor(
    message: string,
    readonly code: 1002 | 1009,
  ) {
    super(message);
    this.name = "FramingError";
  }
}

/** Encodes `n` (0 ≤ n < 2^53) as a protobuf varint. */
export function encodeVarint(n: number): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint out of range: ${n}`);
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** Prefixes `payload` with its varint length: one buffer, ready to write to the stream. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const prefix = encodeVarint(payload.length);
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private offset = 0; // consumed bytes of chunks[0]
  private buffered = 0; // unconsumed bytes over all chunks
  private expected: number | undefined; // body length of the current frame, once the prefix is read

  constructor(private readonly maxFrame: number = DEFAULT_MAX_FRAME) {}

  /** Bytes received but not yet returned as frames. */
  get pending(): number {
    return this.buffered;
  }

  /**
   * Adds a received chunk and returns every frame it completes (possibly none). Throws a
   * FramingError for a prefix longer than 10 bytes or a length above the maximum; the decoder is
   * unusable afterwards.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Uint8Array[] = [];
    for (;;) {
      if (this.expected === undefined) {
        const len = this.readVarint();
        if (len === undefined) break;
        this.expected = len;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = undefined;
    }
    return frames;
  }

  /** Reads the length prefix if it is complete; consumes it then. */
  private readVarint(): number | undefined {
    let value = 0;
    let scale = 1;
    let n = 0;
    for (let ci = 0, pos = this.offset; ci < this.chunks.length; ci++, pos = 0) {
      const c = this.chunks[ci];
      for (; pos < c.length; pos++) {
        const b = c[pos];
        n++;
        if (n > 10) throw new FramingError("length prefix longer than 10 bytes", 1002);
        value += (b & 0x7f) * scale;
        scale *= 0x80;
        if ((b & 0x80) === 0) {
          if (value > this.maxFrame) {
            throw new FramingError(
              `frame of ${value} bytes exceeds the maximum of ${this.maxFrame}`,
              1009,
            );
          }
          this.skip(n);
          return value;
        }
        // The value only grows with further prefix bytes: fail before buffering the body.
        if (value > this.maxFrame) {
          throw new FramingError(`frame length exceeds the maximum of ${this.maxFrame}`, 1009);
        }
      }
    }
    return undefined;
  }

  private skip(n: number): void {
    this.buffered -= n;
    while (n > 0) {
      const rest = this.chunks[0].length - this.offset;
      if (n < rest) {
        this.offset += n;
        return;
      }
      n -= rest;
      this.chunks.shift();
      this.offset = 0;
    }
  }

  /** Removes `n` bytes from the front; copies only when they span several chunks. */
  private take(n: number): Uint8Array {
    this.buffered -= n;
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0];
    if (first.length - this.offset >= n) {
      const out = first.subarray(this.offset, this.offset + n);
      this.offset += n;
      if (this.offset === first.length) {
        this.chunks.shift();
        this.offset = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const avail = c.length - this.offset;
      const want = Math.min(avail, n - filled);
      out.set(c.subarray(this.offset, this.offset + want), filled);
      filled += want;
      if (want === avail) {
        this.chunks.shift();
        this.offset = 0;
      } else {
        this.offset += want;
      }
    }
    return out;
  }
}
