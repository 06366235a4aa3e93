// Generates the TypeScript protobuf types (src/gen/) from the shared wire schema
// proto/wasimoff/v1/messages.proto (and our extensions.proto) with Debian's protoc and the npm
// plugin protoc-gen-es.
// The output is a build product (git-ignored); it is regenerated only when the schema or the
// plugin changed, so `npm test` and `npm run build` stay fast.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const protoRoot = resolve(web, "../proto");
const schemas = ["messages", "extensions"].map((n) => join(protoRoot, `wasimoff/v1/${n}.proto`));
const plugin = join(web, "node_modules/.bin/protoc-gen-es");
const outDir = join(web, "src/gen");
const outputs = ["messages", "extensions"].map((n) => join(outDir, `wasimoff/v1/${n}_pb.ts`));
const stamp = join(outDir, ".schema-stamp");

if (!existsSync(plugin)) {
  console.error(`gen-proto: ${plugin} is missing; run "npm ci" in ${web} first`);
  process.exit(1);
}
const key = `${schemas.map((s) => readFileSync(s, "utf8")).join("\n")}\n--plugin ${statSync(plugin).mtimeMs}`;
if (outputs.every((o) => existsSync(o)) && existsSync(stamp) && readFileSync(stamp, "utf8") === key) process.exit(0);

mkdirSync(outDir, { recursive: true });
try {
  execFileSync(
    "protoc",
    [
      `--plugin=protoc-gen-es=${plugin}`,
      `--es_out=${outDir}`,
      "--es_opt=target=ts,import_extension=none",
      `-I${protoRoot}`,
      ...schemas,
    ],
    { stdio: "inherit" },
  );
} catch (e) {
  console.error(
    "gen-proto: protoc failed. It comes from the Debian package protobuf-compiler " +
      "(scripts/install-deps.sh installs it).",
  );
  process.exit(1);
}
writeFileSync(stamp, key);
