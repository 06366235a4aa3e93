// The job the end-to-end tests run through the Broker, and the comparison of its results.
//
// `helloJob(n)` is a RunWasip1Job of n `hello.wasm` tasks (examples/hello.c) over a rootfs ZIP with
// stored and deflated entries. The tasks differ in argv, environment (inherited or replaced),
// stdin, exit status, files printed with --cat (one missing: stderr + status 1) and artifacts
// (a file and a directory), so a provider that gets any of these wrong produces a difference.
import { deflateRawSync } from "node:zlib";
import { readZipEntries } from "../browser/zip_util.mjs";

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A ZIP archive of `entries` ([{name, content, deflate}]; names ending in "/" are directories).
 * DOS time 2024-05-01 12:00:00 on every entry.
 */
export function makeZip(entries) {
  const locals = [];
  const central = [];
  let offset = 0;
  const dosTime = (12 << 11) | (0 << 5) | 0;
  const dosDate = ((2024 - 1980) << 9) | (5 << 5) | 1;
  for (const { name, content = "", deflate = false } of entries) {
    const data = Buffer.from(content);
    const packed = deflate ? deflateRawSync(data) : data;
    const n = Buffer.from(name);
    const isDir = name.endsWith("/");
    const h = Buffer.alloc(30);
    h.writeUInt32LE(0x04034b50, 0);
    h.writeUInt16LE(20, 4);
    h.writeUInt16LE(0x0800, 6); // UTF-8 names
    h.writeUInt16LE(deflate ? 8 : 0, 8);
    h.writeUInt16LE(dosTime, 10);
    h.writeUInt16LE(dosDate, 12);
    h.writeUInt32LE(crc32(data), 14);
    h.writeUInt32LE(packed.length, 18);
    h.writeUInt32LE(data.length, 22);
    h.writeUInt16LE(n.length, 26);
    locals.push(h, n, packed);
    const c = Buffer.alloc(46);
    c.writeUInt32LE(0x02014b50, 0);
    c.writeUInt16LE(0x031e, 4); // made by Unix
    c.writeUInt16LE(20, 6);
    c.writeUInt16LE(0x0800, 8);
    c.writeUInt16LE(deflate ? 8 : 0, 10);
    c.writeUInt16LE(dosTime, 12);
    c.writeUInt16LE(dosDate, 14);
    c.writeUInt32LE(crc32(data), 16);
    c.writeUInt32LE(packed.length, 20);
    c.writeUInt32LE(data.length, 24);
    c.writeUInt16LE(n.length, 28);
    c.writeUInt32LE(((isDir ? 0o40755 : 0o100644) << 16) >>> 0, 38);
    c.writeUInt32LE(offset, 42);
    central.push(c, n);
    offset += 30 + n.length + packed.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

/** The rootfs of the hello job: nested directories (one explicit, one implicit), both methods. */
export function helloRootfs() {
  return makeZip([
    { name: "readme.txt", content: "rootfs of the wasimoff browser e2e test\n" },
    { name: "data/", content: "" },
    { name: "data/a.txt", content: "alpha\n", deflate: true },
    { name: "data/sub/b.txt", content: "beta: ünïcödé ✓\n".repeat(8), deflate: true },
    { name: "data/sub/empty", content: "" },
  ]);
}

const b64 = (s) => Buffer.from(s).toString("base64");

/**
 * RunWasip1Job request of `n` hello tasks. `binary` and `rootfs` are aliases (or refs) the
 * caller uploaded; `reference` marks the run.
 */
export function helloJob(n, { binary = "hello.wasm", rootfs = "e2e-rootfs.zip", reference = "e2e" } = {}) {
  const tasks = [];
  for (let i = 0; i < n; i++) {
    const t = { args: ["hello.wasm", `task-${i}`] };
    switch (i % 6) {
      case 1:
        t.args.push("--exit", String(i % 7));
        break;
      case 2:
        t.stdin = b64(`line ${i}\nzweite Zeile ü\nno newline at the end`);
        break;
      case 3:
        t.args.push("--cat", "/data/a.txt", "--cat", "data/sub/b.txt", "two words");
        t.envs = ["MODE=other", `I=${i}`, "UNICODE=ü✓"];
        break;
      case 4:
        t.artifacts = ["hello.txt", "/data"];
        break;
      case 5:
        t.args.push("--cat", "/no/such/file");
        break;
    }
    tasks.push(t);
  }
  return {
    info: { reference },
    parent: { binary: { ref: binary }, rootfs: { ref: rootfs }, envs: ["MODE=job", "EMPTY="] },
    tasks,
  };
}

/** Entries of a base64 ZIP as {name: text}, sorted by name. */
function zipSummary(blob) {
  const entries = readZipEntries(Buffer.from(blob, "base64"));
  return Object.fromEntries(
    Object.keys(entries)
      .sort()
      .map((k) => [k, entries[k].toString()]),
  );
}

/**
 * A task Response reduced to what must be identical on every provider: the error text, or exit
 * status, stdout, stderr (decoded) and the artifact ZIP's entries (names and contents; the ZIP
 * bytes themselves may legitimately differ in compression and timestamps).
 */
export function outcome(response) {
  if (response.error !== undefined) return { error: response.error };
  const ok = response.ok ?? {};
  const o = {
    status: ok.status ?? 0,
    stdout: Buffer.from(ok.stdout ?? "", "base64").toString(),
    stderr: Buffer.from(ok.stderr ?? "", "base64").toString(),
  };
  if (ok.artifacts) o.artifacts = { media: ok.artifacts.media, entries: zipSummary(ok.artifacts.blob ?? "") };
  return o;
}

/** "expected …x… got …y…" around the first character where the two texts differ. */
function firstDifference(x, y) {
  let i = 0;
  while (i < x.length && i < y.length && x[i] === y[i]) i++;
  const from = Math.max(0, i - 60);
  const cut = (t) => (from > 0 ? "…" : "") + t.slice(from, i + 140) + (t.length > i + 140 ? "…" : "");
  return `expected ${cut(x)}\n       got ${cut(y)}`;
}

/**
 * Compares two JobResponses task by task; returns a list of human-readable differences (empty
 * when equal). Shows at most `limit` of them.
 */
export function compareJobs(expected, actual, limit = 3) {
  const diffs = [];
  if (expected.tasks.length !== actual.tasks.length) {
    return [`task count: expected ${expected.tasks.length}, got ${actual.tasks.length}`];
  }
  for (let i = 0; i < expected.tasks.length; i++) {
    const a = outcome(expected.tasks[i]);
    const b = outcome(actual.tasks[i]);
    for (const field of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const x = JSON.stringify(a[field]) ?? "(absent)";
      const y = JSON.stringify(b[field]) ?? "(absent)";
      if (x !== y) diffs.push(`task ${i} ${field}: ${firstDifference(x, y)}`);
    }
  }
  if (diffs.length > limit) return [...diffs.slice(0, limit), `… and ${diffs.length - limit} more differing tasks`];
  return diffs;
}

/** Counts the tasks of a JobResponse per executing provider name. */
export function tasksPerProvider(job) {
  const out = {};
  for (const t of job.tasks) {
    const p = t.info?.provider ?? "(none)";
    out[p] = (out[p] ?? 0) + 1;
  }
  return out;
}
