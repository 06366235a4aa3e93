// Compiles the WAT test modules in test/fixtures/*.wat with wabt's wat2wasm (Debian package
// "wabt") into test/fixtures/wasm.json ({name: base64}). The JSON is committed so the unit tests
// and the browser tests need no wabt; test/fixtures.test.ts checks that it is current.
//   node scripts/wat-fixtures.mjs           regenerate
//   node scripts/wat-fixtures.mjs --print   print the JSON without writing
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = resolve(dirname(fileURLToPath(import.meta.url)), "../test/fixtures");

export function compileFixtures() {
  const tmp = mkdtempSync(join(tmpdir(), "wat-"));
  try {
    const out = {};
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".wat")).sort()) {
      const wasm = join(tmp, f.replace(/\.wat$/, ".wasm"));
      execFileSync("wat2wasm", [join(dir, f), "-o", wasm], { stdio: ["ignore", "ignore", "inherit"] });
      out[f.replace(/\.wat$/, "")] = readFileSync(wasm).toString("base64");
    }
    return JSON.stringify(out, null, 2) + "\n";
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const json = compileFixtures();
  if (process.argv.includes("--print")) process.stdout.write(json);
  else writeFileSync(join(dir, "wasm.json"), json);
}
