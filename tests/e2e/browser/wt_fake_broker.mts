// WebTransport side of a fake Broker, run with Deno (npm package "deno"; Deno has a WebTransport
// server, Node does not):  deno run --unstable-net -A wt_fake_broker.mts <cert.pem> <key.pem>
// It accepts one session, reads the provider's message stream (varint-length-delimited binary
// Envelopes, docs/protocol.md §7), drives a short protocol exchange with hand-encoded protobuf, and
// prints one JSON line per event on stdout for the Node test (webtransport.test.mjs):
//   {"listening": port} · {"session": url} · {"frame": hex} · {"closed": {...}} · {"error": text}
// Deno's writer.close() sends no FIN (docs/webtransport.md §8): the session is closed instead.

const [certFile, keyFile] = Deno.args;
const cert = Deno.readTextFileSync(certFile);
const key = Deno.readTextFileSync(keyFile);
const say = (o: unknown) => console.log(JSON.stringify(o));
// Deno rejects internal promises with "timed out" when a peer goes away; report, do not crash.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  say({ error: String(e.reason) });
});

// --- minimal protobuf encoding -------------------------------------------------------------
function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
}
const field = (num: number, bytes: Uint8Array | number[]) => [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
const str = (s: string) => new TextEncoder().encode(s);
function envelope(seq: number, type: number, typeName: string, value: number[]): Uint8Array {
  const any = [...field(1, str("wasimoff/" + typeName)), ...(value.length ? field(2, value) : [])];
  return new Uint8Array([0x08, ...varint(seq), 0x10, type, ...field(4, any)]);
}
const frame = (env: Uint8Array) => new Uint8Array([...varint(env.length), ...env]);
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// --- frame reader ----------------------------------------------------------------------------
class Frames {
  private buf = new Uint8Array(0);
  constructor(private reader: ReadableStreamDefaultReader<Uint8Array>) {}
  async next(): Promise<Uint8Array | null> {
    for (;;) {
      let len = 0, scale = 1, i = 0;
      for (; i < this.buf.length; i++) {
        len += (this.buf[i] & 0x7f) * scale;
        scale *= 0x80;
        if ((this.buf[i] & 0x80) === 0) break;
      }
      if (i < this.buf.length && this.buf.length >= i + 1 + len) {
        const f = this.buf.slice(i + 1, i + 1 + len);
        this.buf = this.buf.slice(i + 1 + len);
        return f;
      }
      const { value, done } = await this.reader.read();
      if (done) return null;
      const nb = new Uint8Array(this.buf.length + value.length);
      nb.set(this.buf);
      nb.set(value, this.buf.length);
      this.buf = nb;
    }
  }
}

const endpoint = new Deno.QuicEndpoint({ hostname: "127.0.0.1", port: 0 });
const listener = endpoint.listen({ cert, key, alpnProtocols: ["h3"] });
say({ listening: endpoint.addr.port });

const fixtures = JSON.parse(Deno.readTextFileSync(new URL("../../../web/test/fixtures/wasm.json", import.meta.url)));
const hello = Uint8Array.from(atob(fixtures.hello), (c) => c.charCodeAt(0));

for await (const incoming of listener) {
  try {
    const conn = await incoming.accept();
    const wt = await Deno.upgradeWebTransport(conn);
    await wt.ready;
    say({ session: wt.url });
    const streams = wt.incomingBidirectionalStreams.getReader();
    const { value: stream } = await streams.read();
    const frames = new Frames(stream!.readable.getReader());
    const writer = stream!.writable.getWriter();
    say({ frame: hex((await frames.next())!) }); // ProviderResources, written at once
    await writer.write(frame(envelope(1, 1, "wasimoff.v1.Filesystem.Listing.Request", [])));
    // Requests may be answered in any order; events may come in between: report everything.
    const task = field(3, field(1, field(3, hello))); // Request{params{binary{blob}}}
    const info = field(1, field(1, str("wt-1"))); // Request{info{id:"wt-1"}}
    await writer.write(frame(envelope(2, 1, "wasimoff.v1.Ping", [])));
    await writer.write(frame(envelope(3, 1, "wasimoff.v1.Task.Wasip1.Request", [...info, ...task])));
    // A large Event split across many stream chunks: GenericMessage of 200 kB.
    await writer.write(frame(envelope(1, 3, "wasimoff.v1.Event.GenericMessage", field(1, str("x".repeat(200_000))))));
    await writer.write(frame(envelope(2, 3, "wasimoff.v1.Event.ClusterInfo", [0x08, 5])));
    // Deno does not end the stream reader when the session closes: watch both.
    void (async () => {
      for (;;) {
        const f = await frames.next().catch(() => null);
        if (!f) break;
        say({ frame: hex(f) });
      }
    })();
    const closed = await wt.closed.catch((e) => ({ error: String(e) }));
    say({ closed });
  } catch (e) {
    say({ error: String(e) });
  }
}
