#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""A long chain of updates: N consecutive @mdn/browser-compat-data releases packed under one
root name, as a CI job that archives every run would. Prints, per release, what the archive
grew by, what pack wrote (`bytes_added`), how many new nodes went into delta packs and the
deepest delta pack, beside git (`gc --aggressive`) holding the same file; then the median
cold `hydrate --at` time of a few pointers in the last release.

    bench/update_chain.py PAGABLE [--versions 8.0.0,8.0.1,...] [--runs 11]

Releases are downloaded from npm once into build/bench-cache (as `bench/run` does).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get("PAGABLE_BENCH_CACHE", os.path.join(ROOT, "build", "bench-cache"))
VERSIONS = ("8.0.0 8.0.1 8.0.2 8.0.3 8.0.4 8.0.5 8.0.6 8.0.7 8.0.8 8.0.9 8.0.10 8.0.11 8.0.12 "
            "8.0.13 8.0.14 8.1.0 8.1.1 8.1.2 8.1.3 8.1.4 8.1.5 8.1.6 8.1.7 8.1.9").split()
POINTERS = ["/api/AbortController/abort/__compat/support/chrome/version_added",
            "/css/properties/color/__compat/support/firefox",
            "/javascript/builtins/Array/at/__compat",
            "/html/elements/div/__compat/support/safari",
            "/webextensions/api/tabs/query/__compat"]


def fetch(version):
    dest = os.path.join(CACHE, f"mdn-browser-compat-data-{version}.json")
    if not os.path.exists(dest):
        os.makedirs(CACHE, exist_ok=True)
        with tempfile.TemporaryDirectory() as d:
            subprocess.run(["npm", "pack", "--silent", f"@mdn/browser-compat-data@{version}"],
                           cwd=d, check=True, stdout=subprocess.DEVNULL)
            tgz = [x for x in os.listdir(d) if x.endswith(".tgz")][0]
            with tarfile.open(os.path.join(d, tgz)) as t:
                with t.extractfile(t.getmember("package/data.json")) as src, \
                        open(dest + ".tmp", "wb") as out:
                    shutil.copyfileobj(src, out)
        os.replace(dest + ".tmp", dest)
    return dest


def git(repo, *args):
    subprocess.run(["git", "-C", repo, "-c", "user.name=bench", "-c", "user.email=bench@localhost",
                    *args], check=True, stdout=subprocess.DEVNULL)


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pagable")
    ap.add_argument("--versions", default=",".join(VERSIONS))
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    versions = args.versions.split(",")
    paths = [fetch(v) for v in versions]
    with tempfile.TemporaryDirectory() as work:
        archive, repo = os.path.join(work, "a.pagable"), os.path.join(work, "git")
        subprocess.run(["git", "init", "-q", repo], check=True)
        print("| release | archive grew | pack wrote | new nodes (in delta packs) | deepest pack | git grew |")
        print("|---|---:|---:|---:|---:|---:|")
        prev_a = prev_g = 0
        for v, path in zip(versions, paths):
            out = subprocess.run([args.pagable, "--json", "pack", archive, path, "--name", "mdn"],
                                 check=True, capture_output=True, text=True).stdout
            rep = json.loads(out)
            doc = rep["documents"][0]
            depth = subprocess.run(["sqlite3", archive, "SELECT max(depth) FROM packs"],
                                   check=True, capture_output=True, text=True).stdout.strip()
            shutil.copyfile(path, os.path.join(repo, "doc.json"))
            git(repo, "add", "doc.json")
            git(repo, "commit", "-q", "-m", v)
            git(repo, "gc", "-q", "--aggressive")
            size_a, size_g = os.path.getsize(archive), du(os.path.join(repo, ".git", "objects"))
            print(f"| {v} | {size_a - prev_a:,} | {rep['bytes_added']:,} | "
                  f"{doc['new_nodes']} ({rep['delta_nodes']}) | {depth} | {size_g - prev_g:,} |")
            prev_a, prev_g = size_a, size_g
        print(f"\ntotal: archive {prev_a:,} bytes, git objects {prev_g:,} bytes\n")
        print("| pointer (last release) | cold hydrate --at, median ms |")
        print("|---|---:|")
        for ptr in POINTERS:
            secs = []
            for _ in range(args.runs):
                r = subprocess.run([args.pagable, "hydrate", archive, "mdn", "--at", ptr, "--stats"],
                                   check=True, capture_output=True, text=True)
                secs.append(json.loads(r.stderr.strip().splitlines()[-1])["seconds"])
            print(f"| `{ptr}` | {1000 * statistics.median(secs):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
