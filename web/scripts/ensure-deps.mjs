// Installs a folder's npm packages from its lockfile when needed:
//   node scripts/ensure-deps.mjs <dir>
// Runs `npm ci` only when <dir>/node_modules/.install-stamp is missing or older than
// package-lock.json / package.json (the same stamp scripts/install-deps.sh uses), and touches the
// stamp afterwards. Cheap when nothing is to do, so the build runs it every time. Several build
// directories may share one source tree: a lock directory serialises concurrent installs.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const dir = resolve(process.argv[2] ?? ".");
const stamp = join(dir, "node_modules", ".install-stamp");
const lock = join(dir, ".npm-ci.lock");
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
const fresh = () => mtime(stamp) > 0 && mtime(stamp) >= Math.max(mtime(join(dir, "package-lock.json")), mtime(join(dir, "package.json")));

if (fresh()) process.exit(0);

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const deadline = Date.now() + 10 * 60_000;
for (;;) {
  try {
    mkdirSync(lock);
    break;
  } catch {
    // Another build is installing; a lock older than 15 minutes is left over from a crash.
    if (Date.now() - mtime(lock) > 15 * 60_000) rmdirSync(lock);
    else if (Date.now() > deadline) {
      console.error(`ensure-deps: ${lock} held for more than 10 minutes; remove it if no npm is running`);
      process.exit(1);
    } else sleep(500);
  }
}
try {
  if (!fresh()) {
    console.log(`ensure-deps: npm ci in ${dir}`);
    const r = spawnSync("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: dir, stdio: "inherit" });
    if (r.status !== 0) {
      console.error(`ensure-deps: npm ci failed in ${dir} (exit ${r.status ?? r.signal})`);
      process.exit(1);
    }
    writeFileSync(stamp, "");
  }
} finally {
  rmdirSync(lock);
}
