#!/usr/bin/env python3
"""ZIP helper for the test runners (Node has no ZIP library built in; Python's zipfile does it all).

  ziptool.py extract <rootfs.zip> <dir> [--limit BYTES]
      Materialise a task's rootfs ZIP into an (empty) directory, following
      docs/provider-internals.md §1.1: stored and deflate entries (ZIP64 too), implicit intermediate
      directories, names ending in '/' are directories, file times from the DOS timestamps. The
      whole archive is checked before anything is written; it is rejected for absolute names, '..'
      segments, NUL bytes, symlink entries, encrypted entries, other compression methods, or an
      expanded size above --limit (default 256 MiB). On rejection: one line "rootfs: <reason>" on
      stderr, exit status 1.

  ziptool.py pack <dir> <out.zip> [<path>...]
      Collect a task's artifacts (docs/provider-internals.md §1): for each path (leading '/'
      stripped, normalised, must stay inside <dir>) add the file, or the directory with everything
      below it, to a new deflate ZIP. Missing or escaping paths are skipped; symlinks (which
      node:wasi lets a guest create, but the wasimoff engine never has) are skipped too. Entries are
      added in sorted order, each at most once. Always writes a (possibly empty) archive.

Exit status 2 for usage errors.
"""

import os
import posixpath
import stat
import sys
import time
import zipfile

DEFAULT_LIMIT = 256 * 1024 * 1024
S_IFLNK = 0o120000
ALLOWED_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class Rejected(Exception):
    pass


def check_name(name):
    """Returns the list of path segments of an entry name or raises Rejected."""
    if "\0" in name:
        raise Rejected(f"entry name contains a NUL byte: {name!r}")
    if name.startswith("/") or name.startswith("\\") or (len(name) > 1 and name[1] == ":"):
        raise Rejected(f"absolute entry name: {name}")
    segments = [s for s in name.split("/") if s not in ("", ".")]
    if ".." in segments:
        raise Rejected(f"entry name with '..': {name}")
    return segments


def extract(zip_path, out_dir, limit):
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as e:
        raise Rejected(f"not a valid ZIP archive: {e}")
    with archive:
        entries = []
        total = 0
        for info in archive.infolist():
            segments = check_name(info.filename)
            if info.flag_bits & 0x1:
                raise Rejected(f"encrypted entry: {info.filename}")
            if info.compress_type not in ALLOWED_METHODS:
                raise Rejected(
                    f"unsupported compression method {info.compress_type}: {info.filename}")
            if (info.external_attr >> 16) & 0o170000 == S_IFLNK:
                raise Rejected(f"symlink entry: {info.filename}")
            total += info.file_size
            if total > limit:
                raise Rejected(f"expanded size exceeds the filesystem limit of {limit} bytes")
            entries.append((info, segments))

        dir_times = []
        for info, segments in entries:
            if not segments:
                continue
            target = os.path.join(out_dir, *segments)
            mtime = time.mktime(info.date_time + (0, 0, -1))
            if info.filename.endswith("/"):
                os.makedirs(target, exist_ok=True)
                dir_times.append((target, mtime))
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(target):
                raise Rejected(f"entry is both a file and a directory: {info.filename}")
            written = 0
            with archive.open(info) as src, open(target, "wb") as dst:
                while True:
                    chunk = src.read(1 << 20)
                    if not chunk:
                        break
                    written += len(chunk)
                    if written > info.file_size:
                        raise Rejected(f"entry larger than declared: {info.filename}")
                    dst.write(chunk)
            os.utime(target, (mtime, mtime))
        # Directory times last: creating children changes them.
        for target, mtime in reversed(dir_times):
            os.utime(target, (mtime, mtime))


def pack(root, out_zip, paths):
    root = os.path.realpath(root)
    chosen = set()

    def add(rel):
        full = os.path.join(root, rel) if rel else root
        st = os.lstat(full)
        if stat.S_ISLNK(st.st_mode):
            return
        if stat.S_ISDIR(st.st_mode):
            if rel:
                chosen.add(rel + "/")
            for name in sorted(os.listdir(full)):
                add(posixpath.join(rel, name) if rel else name)
        elif stat.S_ISREG(st.st_mode):
            chosen.add(rel)

    for p in paths:
        rel = posixpath.normpath("/" + p.lstrip("/")).lstrip("/")
        if rel in ("", "."):
            rel = ""
        if "\0" in rel or rel == ".." or rel.startswith("../"):
            continue
        # Every existing prefix must be a real directory (not a symlink) inside the root.
        full = os.path.join(root, rel)
        if not os.path.lexists(full):
            continue
        parent = os.path.dirname(full)
        if os.path.realpath(parent) != parent and rel:
            continue
        add(rel)

    with zipfile.ZipFile(out_zip, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(chosen):
            if name.endswith("/"):
                info = zipfile.ZipInfo(name)
                info.external_attr = (0o40755 << 16) | 0x10  # Unix directory + MS-DOS directory bit
                archive.writestr(info, b"")
            else:
                archive.write(os.path.join(root, name), name)


def main(argv):
    if len(argv) >= 3 and argv[0] == "extract":
        limit = DEFAULT_LIMIT
        if len(argv) == 5 and argv[3] == "--limit":
            limit = int(argv[4])
        elif len(argv) != 3:
            return usage()
        try:
            extract(argv[1], argv[2], limit)
        except Rejected as e:
            print(f"rootfs: {e}", file=sys.stderr)
            return 1
        except (OSError, zipfile.BadZipFile, EOFError) as e:  # e.g. "a" is a file and "a/b" exists
            print(f"rootfs: cannot extract: {e}", file=sys.stderr)
            return 1
        return 0
    if len(argv) >= 3 and argv[0] == "pack":
        pack(argv[1], argv[2], argv[3:])
        return 0
    return usage()


def usage():
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
