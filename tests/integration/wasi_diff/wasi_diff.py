#!/usr/bin/env python3
"""Differential WASI conformance test: the wasimoff engine against Node's node:wasi.

Every case (an example program or WAT fixture with an argv / env / stdin / rootfs / artifacts
combination) is run through two runners that share one spec format (tests/tools/node-wasi-run.mjs
documents it):

  * the reference: `node --no-warnings tests/tools/node-wasi-run.mjs <spec.json>`
  * the engine:    `wasimoff-run --cache <dir> <spec.json>` (src/provider, the production compile +
                   worker path; one compile cache for the whole run, so every module compiles once)

Modes:
  --mode diff   run both and compare (the `wasi_diff` CTest test). Fails when wasimoff-run is missing.
  --mode node   run only node:wasi and check the known results of every case (the
                `wasi_examples_node` test): this validates the examples, the fixtures and the
                reference runner themselves, so that a diff failure points at the engine.

What is compared (docs/provider-internals.md §3.6):
  * exit status, stdout and stderr: byte for byte;
  * artifacts: the files in the returned ZIPs (name -> content) and the set of directories (explicit
    entries plus those implied by file names); archive bytes, order, timestamps and compression are
    not compared;
  * errors: both present or both absent; for traps (`trap: ...`) the first line must be identical
    (docs/provider-internals.md §1.2 fixes those texts; the engine MAY append the stderr tail after
    a newline); for other errors only the kind (the text before the first ':', or "task timed out")
    is compared, because wording is an expected difference.
Expected differences that the programs themselves neutralise: directory listing order and "."/".."
(hello and wasi-selftest sort and filter names), timestamps (never printed), and the documented
node:wasi deviations (wasi-selftest prints the accepted set instead of the actual value). Cases never
use duplicate environment keys or entries without '=': node:wasi cannot express them.

Output: one "ok <case>" or "FAIL <case>: <reason>" line per case, then "<n> passed, <m> failed".
Exit status 0 only if nothing failed.
"""

import argparse
import base64
import concurrent.futures
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

# --------------------------------------------------------------------------------------------
# rootfs archives built for the cases


def build_rootfs(tmp):
    """Writes the rootfs ZIPs used by the cases into tmp; returns {name: path}."""
    out = {}

    def make(name, entries):
        path = os.path.join(tmp, name + ".zip")
        with zipfile.ZipFile(path, "w") as z:
            for entry in entries:
                arcname, data = entry[0], entry[1]
                info = zipfile.ZipInfo(arcname, date_time=(2024, 5, 17, 12, 0, 0))
                info.compress_type = entry[2] if len(entry) > 2 else zipfile.ZIP_DEFLATED
                if arcname.endswith("/"):
                    info.external_attr = (0o40755 << 16) | 0x10
                    info.compress_type = zipfile.ZIP_STORED
                elif len(entry) > 3:
                    info.external_attr = entry[3] << 16
                else:
                    info.external_attr = 0o100644 << 16
                z.writestr(info, data)
        out[name] = path

    make("small", [
        ("readme.md", b"# a small rootfs\n", zipfile.ZIP_STORED),
        ("data/", b""),
        ("data/a.txt", b"alpha\nbeta\n"),
        ("data/sub/b.bin", bytes(range(256)) * 4),
        ("empty-dir/", b""),
        ("implicit/parent/file.txt", b"the parents of this file have no entries\n"),
        ("hello.txt", b"this file is replaced by hello.wasm\n"),
    ])
    make("wide", [(f"dir{i % 5}/file{i:03d}.txt", f"file {i}\n".encode() * (i % 7))
                  for i in range(60)])
    make("big", [("big.bin", b"0123456789abcdef" * 65536)])  # 1 MiB, deflated
    make("bad-symlink", [("ok.txt", b"ok"), ("link", b"/etc/passwd", zipfile.ZIP_STORED, 0o120777)])
    make("bad-dotdot", [("ok.txt", b"ok"), ("a/../../evil.txt", b"evil")])
    make("bad-absolute", [("/etc/evil.txt", b"evil")])
    with open(os.path.join(tmp, "not-a-zip.zip"), "wb") as f:
        f.write(b"this is not a zip archive")
    out["not-a-zip"] = os.path.join(tmp, "not-a-zip.zip")
    return out


# --------------------------------------------------------------------------------------------
# cases


class Case:
    def __init__(self, name, wasm, args=None, env=None, stdin=None, rootfs=None, artifacts=None,
                 timeout_ms=30000, memory_limit=None, expect=None, native=None):
        self.name = name
        self.wasm = wasm  # path
        self.args = args if args is not None else [os.path.basename(wasm)]
        self.env = env or []
        self.stdin = stdin  # bytes or None
        self.rootfs = rootfs  # path or None
        self.artifacts = artifacts or []
        self.timeout_ms = timeout_ms
        self.memory_limit = memory_limit
        self.expect = expect or {}  # checks for --mode node, see check_expectations
        self.native = native  # --mode node: a native build that must print the same (tsp-native)

    def spec(self):
        return {
            "wasm": self.wasm,
            "args": self.args,
            "env": self.env,
            "stdin": base64.b64encode(self.stdin).decode() if self.stdin is not None else None,
            "rootfs": self.rootfs,
            "artifacts": self.artifacts,
            "timeout_ms": self.timeout_ms,
            "memory_limit": self.memory_limit,
        }


def example_cases(ex, fx, rootfs):
    w = lambda name: os.path.join(ex, name + ".wasm")
    f = lambda name: os.path.join(fx, name + ".wasm")
    cases = []
    add = lambda *a, **k: cases.append(Case(*a, **k))

    # hello: argv, env, stdin, rootfs listing, artifacts, exit codes.
    add("hello/no-args", w("hello"), artifacts=["hello.txt"],
        expect={"status": 0, "stdout": ["argc: 1", "envc: 0", "files under /:\nstdin: 0 bytes"],
                "artifact_files": {"hello.txt"}})
    stdin = b"line 1\nline 2\n\nno newline at the end"
    add("hello/args-env-stdin", w("hello"),
        args=["hello.wasm", "two words", "", "ünïcödé ✓", "--exit", "3", "-x=1"],
        env=["B=2", "1=integer-like key", "A=x=y", "EMPTY=", "PATH=/nowhere"], stdin=stdin,
        expect={"status": 3, "stdout": ["argv[3]: ünïcödé ✓", "env[1]: 1=integer-like key",
                                        "env[2]: A=x=y", "stdin> no newline at the end\n",
                                        f"stdin: {len(stdin)} bytes"],
                "stderr": ["exit status 3"]})
    add("hello/binary-stdin", w("hello"), stdin=bytes(range(256)) * 3,
        expect={"status": 0, "stdout": ["stdin: 768 bytes"]})
    add("hello/large-stdin", w("hello"), stdin=b"x" * 999 + b"\n" + b"0123456789" * 100000,
        expect={"status": 0, "stdout": ["stdin: 1001000 bytes"]})
    add("hello/many-env", w("hello"), env=[f"VAR_{i}=value {i}" for i in range(200)],
        expect={"status": 0, "stdout": ["envc: 200", "env[199]: VAR_199=value 199"]})
    add("hello/exit-negative", w("hello"), args=["hello", "--exit", "-2"], expect={"status": -2})
    add("hello/exit-300", w("hello"), args=["hello", "--exit", "300"], expect={"status": 300})
    add("hello/usage-error", w("hello"), args=["hello", "--exit", "abc"],
        expect={"status": 2, "stderr": ["--exit needs an integer"]})
    add("hello/rootfs-small", w("hello"),
        args=["hello.wasm", "--cat", "/data/a.txt", "--cat", "implicit/parent/file.txt"],
        rootfs=rootfs["small"],
        artifacts=["hello.txt", "/data", "data/sub/../a.txt", "empty-dir", "missing.txt",
                   "../escape.txt"],
        expect={"status": 0,
                "stdout": ["  /data/sub/b.bin 1024 bytes", "  /empty-dir/\n",
                           "  /implicit/parent/file.txt 41 bytes", "--- /data/a.txt\nalpha\nbeta\n",
                           "  /hello.txt 36 bytes"],
                "artifact_files": {"hello.txt", "data/a.txt", "data/sub/b.bin"},
                "artifact_dirs": {"data/", "data/sub/", "empty-dir/"}})
    add("hello/rootfs-wide", w("hello"), rootfs=rootfs["wide"], artifacts=["dir3"],
        expect={"status": 0,
                "stdout": ["  /dir4/file059.txt 24 bytes\n", "  /dir0/file000.txt 0 bytes\n"],
                "artifact_files": {f"dir3/file{i:03d}.txt" for i in range(3, 60, 5)}})
    add("hello/rootfs-whole-tree-artifact", w("hello"), rootfs=rootfs["small"], artifacts=["/"],
        expect={"status": 0, "artifact_files": {"hello.txt", "readme.md", "data/a.txt",
                                                "data/sub/b.bin", "implicit/parent/file.txt"}})
    add("hello/rootfs-big", w("hello"), args=["hello", "--cat", "/big.bin"], rootfs=rootfs["big"],
        expect={"status": 0, "stdout": ["  /big.bin 1048576 bytes"]})
    add("hello/cat-missing", w("hello"), args=["hello", "--cat", "/nope.txt"],
        expect={"status": 1, "stderr": ["cannot open /nope.txt"]})
    for bad in ("bad-symlink", "bad-dotdot", "bad-absolute", "not-a-zip"):
        add(f"hello/rootfs-{bad}", w("hello"), rootfs=rootfs[bad], expect={"error": "rootfs"})

    # fib
    add("fib/iter-0", w("fib"), args=["fib", "0"], expect={"status": 0, "stdout": ["fib(0) = 0\n"]})
    add("fib/iter-93", w("fib"), args=["fib", "93"],
        expect={"status": 0, "stdout": ["fib(93) = 12200160415121876738\n"]})
    add("fib/rec-27", w("fib"), args=["fib", "rec", "27"],
        expect={"status": 0, "stdout": ["fib(27) = 196418\n"]})
    add("fib/too-large", w("fib"), args=["fib", "94"],
        expect={"status": 2, "stderr": ["n is too large"]})
    add("fib/no-args", w("fib"), args=["fib"], expect={"status": 2})

    # tsp
    add("tsp/rand-8-seed-1", w("tsp"), args=["tsp", "rand", "8", "1"],
        native=os.path.join(ex, "tsp-native"),
        expect={"status": 0, "stdout": ["tours checked: 40320\n", "tour: 0 "]})
    add("tsp/rand-9-seed-42", w("tsp"), args=["tsp", "rand", "9", "42"],
        native=os.path.join(ex, "tsp-native"),
        expect={"status": 0, "stdout": ["tours checked: 362880\n"]})
    add("tsp/csv-square", w("tsp"), args=["tsp"],
        native=os.path.join(ex, "tsp-native"),
        stdin=b"# a 3x4 rectangle\n0,0\n3,0\n\n3,4\n0,4\n",
        expect={"status": 0, "stdout": ["best tour length: 14.000000\n", "tour: 0 1 2 3 0\n"]})
    add("tsp/csv-bad-line", w("tsp"), args=["tsp"], stdin=b"0,0\n1;2\n",
        native=os.path.join(ex, "tsp-native"),
        expect={"status": 2, "stderr": ["line 2"]})
    add("tsp/too-many-cities", w("tsp"), args=["tsp", "rand", "13"], expect={"status": 2})

    # wasi-selftest: every WASI function, on an empty and a populated rootfs.
    add("selftest/empty-rootfs", w("wasi-selftest"), args=["wasi-selftest"],
        expect={"status": 0, "stdout": [" 0 failed\n"]})
    add("selftest/rootfs-args-env-stdin", w("wasi-selftest"),
        args=["wasi-selftest", "an arg", ""], env=["A=1", "B="], stdin=b"input\n" * 1000,
        rootfs=rootfs["small"], artifacts=["/"],
        expect={"status": 0, "stdout": [" 0 failed\n", "6000 bytes"],
                "artifact_files": {"hello.txt", "readme.md", "data/a.txt", "data/sub/b.bin",
                                   "implicit/parent/file.txt"}})

    # WAT fixtures: exit codes, traps, limits, rejected modules.
    add("wat/exit7", f("exit7"), expect={"status": 7, "stdout": ["hello from WAT\n"]})
    # argc 0 is tested without wasi-libc: its start-up exits with 71 under node:wasi when argc is 0
    # (node's args_get answers INVAL when there is nothing to copy).
    add("wat/argc-0", f("args"), args=[], expect={"status": 0})
    add("wat/argc-2", f("args"), args=["a", "bc"], expect={"status": 2005})
    add("wat/unreachable", f("unreachable"), expect={"error": "trap: unreachable executed"})
    add("wat/oob", f("oob"), expect={"error": "trap: out of bounds memory access"})
    add("wat/div0", f("div0"), expect={"error": "trap: integer divide by zero"})
    add("wat/overflow", f("overflow"), expect={"error": "trap: integer overflow"})
    add("wat/conversion", f("conversion"), expect={"error": "trap: invalid conversion to integer"})
    add("wat/call-indirect", f("call_indirect"),
        expect={"error": "trap: indirect call type mismatch"})
    add("wat/recursion", f("recursion"), expect={"error": "trap: call stack exhausted"})
    add("wat/loop-timeout", f("loop"), timeout_ms=1000, expect={"error": "task timed out"})
    add("wat/grow-limit", f("grow"), memory_limit=2 * 1024 * 1024, expect={"status": 511})
    add("wat/bigmem-limit", f("bigmem"), memory_limit=1024 * 1024,
        expect={"error": "memory limit exceeded"})
    add("wat/bad-import", f("badimport"), expect={"error": "unsupported module"})
    add("wat/bad-signature", f("badsig"), expect={"error": "unsupported module"})
    add("wat/no-start", f("nostart"), expect={"error": "unsupported module"})

    # WASI preview 0 (wasi_unstable). node:wasi's own version "unstable" keeps preview 1's ABI, so
    # the reference runner translates the three differences itself (node-wasi-run.mjs,
    # preview0Imports); the expectations below are the snapshot-0 witx values.
    add("unstable/hello", f("unstable_hello"), expect={"status": 0, "stdout": ["hello world\n"]})
    add("unstable/abi", f("unstable_abi"), args=["unstable_abi.wasm", "two words", "", "ünï"],
        env=["A=1", "EMPTY=", "K=v=w"], rootfs=rootfs["small"], artifacts=["out.txt", "data"],
        expect={"status": 5,
                "stdout": ["argc=4\n", "arg: two words\narg: \narg: ünï\n", "env: K=v=w\n",
                           "preopen: /\n",
                           "seek SET(2) 3 offset=3\nfd_read 4=0\nread: ha\nb\n",
                           "seek CUR(0) 2 offset=9\n", "seek END(1) -2 offset=9\n",
                           "seek whence 3 errno=28\n", "seek SET(2) -1 errno=28\n",
                           "fd_filestat_get a.txt nlink(u32@20)=1\n",
                           "fd_filestat_get a.txt size(@24)=11\n",
                           "fd_filestat_get a.txt byte@56=238\n",
                           "path_filestat_get data/a.txt size(@24)=11\n",
                           "path_filestat_get data filetype=3\n",
                           "path_filestat_get missing=44\n",
                           "poll 1ms nevents=1\npoll 1ms userdata=119\n",
                           "poll 1h+2ms nevents=1\npoll 1h+2ms userdata=2\n",
                           "poll abstime nevents=1\npoll abstime userdata=3\n",
                           "readdir entries=2\nreaddir name bytes=8\nreaddir type sum=7\n",
                           "seek out.txt END(1) 0 offset=30\n", "realtime plausible=1\n"],
                "artifact_files": {"out.txt", "data/a.txt", "data/sub/b.bin"}})
    add("unstable/mixed-with-preview1", f("unstable_mixed"), rootfs=rootfs["small"],
        expect={"status": 0,
                "stdout": ["preview 1 fd_seek whence 2 (END)=0\n  offset=11\n",
                           "(SET) on the same fd=0\n  offset=4\n",
                           "preview 1 fd_seek whence 1 (CUR)=0\n  offset=5\n",
                           "preview 0 fd_seek whence 1 (END)=0\n  offset=10\n",
                           "  size(@32)=11\n  byte@64=238\n", "  size(@24)=11\n  byte@56=238\n",
                           "preview 1 poll_oneoff 1ms=0\n  nevents=1\n  userdata=11\n",
                           "preview 0 poll_oneoff 1ms=0\n  nevents=1\n  userdata=22\n"]})
    add("unstable/sock-accept", f("unstable_sock_accept"), expect={"error": "unsupported module"})
    return cases


def job_cases(ex, jobs_dir):
    """Tasks from examples/jobs/*.json (Task.Wasip1.Request or JobRequest in proto3 JSON), with
    binaries resolved by alias to the built examples and the parent inheritance of
    docs/scheduling.md §9 applied. Large jobs contribute their first two and last task."""
    cases = []
    expected_status = {"hello-task.json": [7], "hello-3.json": [0, 3, 0],
                       "selftest-task.json": [0]}
    for name in sorted(os.listdir(jobs_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(jobs_dir, name)) as fh:
            doc = json.load(fh)
        if "params" in doc:
            tasks = [doc["params"]]
        else:
            parent = doc.get("parent", {})
            tasks = []
            for t in doc["tasks"]:
                merged = dict(t)
                for key in ("binary", "rootfs", "stdin", "args", "envs", "artifacts"):
                    if key not in merged or merged[key] in ([], None):
                        if key in parent:
                            merged[key] = parent[key]
                tasks.append(merged)
        indices = list(range(len(tasks)))
        if len(indices) > 5:
            indices = indices[:2] + indices[-1:]
        for i in indices:
            t = tasks[i]
            wasm = os.path.join(ex, t["binary"]["ref"])
            stdin = base64.b64decode(t["stdin"]) if "stdin" in t else None
            statuses = expected_status.get(name)
            expect = {"status": statuses[i] if statuses else 0}
            cases.append(Case(f"jobs/{name}#{i}", wasm, args=t.get("args", []),
                              env=t.get("envs", []), stdin=stdin, artifacts=t.get("artifacts"),
                              expect=expect))
    return cases


# --------------------------------------------------------------------------------------------
# running and comparing


def run(runner_cmd, case, tmp):
    fd, spec_path = tempfile.mkstemp(suffix=".json", dir=tmp)
    with os.fdopen(fd, "w") as fh:
        json.dump(case.spec(), fh)
    limit = (case.timeout_ms or 60000) / 1000 + 120
    try:
        proc = subprocess.run(runner_cmd + [spec_path], capture_output=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return None, f"runner did not finish within {limit:.0f} s"
    finally:
        os.unlink(spec_path)
    if proc.returncode != 0:
        return None, (f"runner exited with {proc.returncode}: "
                      f"{proc.stderr.decode(errors='replace').strip()[-500:]}")
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        return None, f"runner printed no JSON object: {proc.stdout[:200]!r}"
    for key in ("status", "stdout", "stderr", "error", "artifacts"):
        if key not in result:
            return None, f"runner result lacks '{key}'"
    return result, None


def decode(result):
    out = dict(result)
    out["stdout"] = base64.b64decode(result["stdout"] or "")
    out["stderr"] = base64.b64decode(result["stderr"] or "")
    out["files"], out["dirs"] = None, None
    if result["artifacts"] is not None:
        files, dirs = {}, set()
        with zipfile.ZipFile(io.BytesIO(base64.b64decode(result["artifacts"]))) as z:
            for info in z.infolist():
                name = info.filename.lstrip("/")
                if name.endswith("/"):
                    dirs.add(name)
                else:
                    files[name] = z.read(info)
                    parts = name.split("/")[:-1]
                    for k in range(1, len(parts) + 1):
                        dirs.add("/".join(parts[:k]) + "/")
        out["files"], out["dirs"] = files, dirs
    return out


def error_kind(error):
    if error is None:
        return None
    first = error.split("\n", 1)[0]
    if first.startswith("trap: "):
        return first
    if first.startswith("task timed out"):
        return "task timed out"
    return first.split(":", 1)[0]


def show(data, limit=120):
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "..."


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            line = a[:i].count(b"\n") + 1
            return (f"first difference at byte {i} (line {line}): "
                    f"{show(a[i:i + 60])} vs {show(b[i:i + 60])}")
    return f"lengths {len(a)} vs {len(b)}"


def compare(ref, eng):
    """Returns a list of differences between the node (ref) and engine (eng) results."""
    diffs = []
    if error_kind(ref["error"]) != error_kind(eng["error"]):
        diffs.append(f"error: node {show(ref['error'])} vs engine {show(eng['error'])}")
        return diffs
    if ref["error"] is not None:
        return diffs
    if ref["status"] != eng["status"]:
        diffs.append(f"status: node {ref['status']} vs engine {eng['status']}")
    for stream in ("stdout", "stderr"):
        if ref[stream] != eng[stream]:
            diffs.append(f"{stream}: {first_difference(ref[stream], eng[stream])}")
    if (ref["files"] is None) != (eng["files"] is None):
        diffs.append(f"artifacts: node {'none' if ref['files'] is None else 'a ZIP'} vs engine "
                     f"{'none' if eng['files'] is None else 'a ZIP'}")
    elif ref["files"] is not None:
        if set(ref["files"]) != set(eng["files"]):
            diffs.append(f"artifact files: node {sorted(ref['files'])} vs engine "
                         f"{sorted(eng['files'])}")
        else:
            for name in sorted(ref["files"]):
                if ref["files"][name] != eng["files"][name]:
                    diffs.append(f"artifact {name}: "
                                 f"{first_difference(ref['files'][name], eng['files'][name])}")
        if ref["dirs"] != eng["dirs"]:
            diffs.append(f"artifact directories: node {sorted(ref['dirs'])} vs engine "
                         f"{sorted(eng['dirs'])}")
    return diffs


def check_expectations(case, res):
    """--mode node: the known results of a case."""
    problems = []
    exp = case.expect
    if "error" in exp:
        if res["error"] is None or not res["error"].startswith(exp["error"]):
            problems.append(f"expected error {exp['error']!r}, got {show(res['error'])} "
                            f"(status {res['status']})")
        return problems
    if res["error"] is not None:
        return [f"unexpected error {show(res['error'])}"]
    if "status" in exp and res["status"] != exp["status"]:
        tail = res["stdout"][-300:].decode(errors="replace")
        problems.append(f"status {res['status']}, expected {exp['status']}; stdout ends {tail!r}")
    for stream in ("stdout", "stderr"):
        text = res[stream].decode(errors="replace")
        for needle in exp.get(stream, []):
            if needle not in text:
                problems.append(f"{stream} lacks {needle!r}")
    if "artifact_files" in exp:
        got = set(res["files"] or {})
        if got != exp["artifact_files"]:
            problems.append(f"artifact files {sorted(got)}, "
                            f"expected {sorted(exp['artifact_files'])}")
    if "artifact_dirs" in exp and res["dirs"] != exp["artifact_dirs"]:
        problems.append(f"artifact directories {sorted(res['dirs'] or [])}, "
                        f"expected {sorted(exp['artifact_dirs'])}")
    hello = os.path.basename(case.wasm) == "hello.wasm"
    if hello and res["files"] is not None and "hello.txt" in res["files"]:
        content = res["files"]["hello.txt"].decode(errors="replace")
        if not content.startswith("hello.txt written by "):
            problems.append(f"hello.txt has unexpected content {content[:60]!r}")
    return problems


def check_native(case, res):
    """--mode node: the native build of the same program prints the same (tsp's claim that its
    result does not depend on the platform)."""
    if not os.access(case.native, os.X_OK):
        return [f"{case.native} is missing (build target {os.path.basename(case.native)})"]
    proc = subprocess.run([case.native] + case.args[1:], input=case.stdin or b"",
                          capture_output=True, timeout=120)
    problems = []
    if proc.returncode != res["status"]:
        problems.append(f"native exit status {proc.returncode} vs wasm {res['status']}")
    if proc.stdout != res["stdout"]:
        problems.append(f"native stdout differs: {first_difference(proc.stdout, res['stdout'])}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mode", choices=("diff", "node"), default="diff")
    ap.add_argument("--examples-dir", required=True, help="directory with hello.wasm, tsp.wasm, ...")
    ap.add_argument("--fixtures-dir", required=True, help="directory with the compiled WAT fixtures")
    ap.add_argument("--jobs-dir", required=True, help="examples/jobs")
    ap.add_argument("--node-runner", required=True, help="tests/tools/node-wasi-run.mjs")
    ap.add_argument("--node", default="node", help="the node executable")
    ap.add_argument("--native-runner",
                    help="the wasimoff-run executable (required for --mode diff)")
    ap.add_argument("--filter", default="", help="only cases whose name contains this text")
    ap.add_argument("--jobs", type=int, default=2, help="cases run in parallel")
    args = ap.parse_args()

    node_cmd = [args.node, "--no-warnings", args.node_runner]
    native_cmd = None
    if args.mode == "diff":
        if not args.native_runner or not os.access(args.native_runner, os.X_OK):
            print(f"FAIL wasi_diff: the native runner wasimoff-run was not found at "
                  f"{args.native_runner or '(not given)'}; build it (target wasimoff-run in "
                  "src/provider) and run the test again. The node:wasi side alone is checked by the "
                  "wasi_examples_node test.")
            print("0 passed, 1 failed")
            return 1
        native_cmd = [args.native_runner, "--cache"]  # the cache directory is appended below

    missing = [p for p in (args.examples_dir, args.fixtures_dir, args.jobs_dir, args.node_runner)
               if not os.path.exists(p)]
    if missing:
        print(f"FAIL setup: missing {', '.join(missing)} (build the targets examples and "
              "wasi_diff_fixtures first)")
        print("0 passed, 1 failed")
        return 1

    tmp = tempfile.mkdtemp(prefix="wasi-diff-")
    if native_cmd is not None:
        native_cmd.append(os.path.join(tmp, "wasimoff-run-cache"))
    try:
        rootfs = build_rootfs(tmp)
        cases = example_cases(args.examples_dir, args.fixtures_dir, rootfs)
        cases += job_cases(args.examples_dir, args.jobs_dir)
        cases = [c for c in cases if args.filter in c.name]

        def one(case):
            ref, err = run(node_cmd, case, tmp)
            if err:
                return [f"node:wasi runner: {err}"]
            ref = decode(ref)
            if native_cmd is None:
                problems = check_expectations(case, ref)
                if case.native and not problems:
                    problems = check_native(case, ref)
                return problems
            eng, err = run(native_cmd, case, tmp)
            if err:
                return [f"wasimoff-run: {err}"]
            return compare(ref, decode(eng))

        # The first case of every module runs in a first round, so that parallel cases do not
        # compile the same module concurrently in separate wasimoff-run processes.
        seen, first_round, second_round = set(), [], []
        for case in cases:
            (second_round if case.wasm in seen else first_round).append(case)
            seen.add(case.wasm)
        results = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for round_cases in (first_round, second_round):
                for case, problems in zip(round_cases, pool.map(one, round_cases)):
                    results[case.name] = problems

        passed = failed = 0
        for case in cases:
            problems = results[case.name]
            if problems:
                failed += 1
                print(f"FAIL {case.name}: " + "; ".join(problems), flush=True)
            else:
                passed += 1
                print(f"ok   {case.name}", flush=True)
        print(f"{passed} passed, {failed} failed")
        return 0 if failed == 0 and passed > 0 else 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
