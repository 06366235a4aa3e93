// Command line of the tests in this folder (CTest passes every path; see CMakeLists.txt):
//   --broker-bin <wasimoff-broker> --provider-bin <wasimoff-provider> --examples <dir with *.wasm>
//   --dist <built page> --out <dir for logs and screenshots> [--transport webtransport|websocket|pem]
//   [--tasks <n>]
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const PATHS = ["broker-bin", "provider-bin", "examples", "dist", "out"];

export function parseArgs(argv = process.argv.slice(2), defaults = {}) {
  const a = { transport: "webtransport", ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (!argv[i].startsWith("--") || i + 1 >= argv.length) throw new Error(`bad argument ${argv[i]}`);
    a[key] = argv[++i];
  }
  for (const k of PATHS) {
    if (!a[k]) throw new Error(`missing --${k} <path>`);
    a[k] = resolve(a[k]);
  }
  if (!["webtransport", "websocket", "pem"].includes(a.transport)) throw new Error(`--transport ${a.transport}: expected webtransport, websocket or pem`);
  for (const [what, path] of [
    ["--broker-bin", a["broker-bin"]],
    ["--provider-bin", a["provider-bin"]],
    ["--dist", join(a.dist, "index.html")],
    ["--examples", join(a.examples, "hello.wasm")],
  ]) {
    if (!existsSync(path)) throw new Error(`${what}: ${path} does not exist (build the targets wasimoff-broker, wasimoff-provider, examples and wasimoff_web first)`);
  }
  return a;
}

/** A fresh directory `<out>/<name>` for one run's logs and screenshots. */
export function runDir(out, name) {
  const dir = join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function readExample(args, name) {
  return readFileSync(join(args.examples, name));
}
