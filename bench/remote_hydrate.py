#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Cold-cache `hydrate REMOTE --at` against the real registry: round trips and bytes moved.

Starts Distribution (Debian's docker-registry, unpacked into .deps/ by scripts/setup) on
127.0.0.1 with a temporary storage root, packs each document given, pushes it, then reads
--leaves random leaves of it, each with an empty cache, through `hydrate --stats`, and
prints per document the median and maximum of: parallel download rounds after the manifest
(target <= 1 + packs on the path), packs fetched, and the bytes moved (indexes + packs)
as a share of the version's bytes (target <= 5%). Counts do not depend on the build type;
times do (they are not reported here).

    bench/remote_hydrate.py --pagable build/asan/cli/pagable ../shared/corpora/mdn-browser-compat-data.json
"""
import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leaves(doc, path="", out=None):
    """Every leaf's JSON pointer."""
    out = [] if out is None else out
    if isinstance(doc, dict):
        for k, v in doc.items():
            leaves(v, path + "/" + k.replace("~", "~0").replace("/", "~1"), out)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            leaves(v, path + "/" + str(i), out)
    else:
        out.append(path)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("documents", nargs="+")
    ap.add_argument("--pagable", default=os.path.join(HERE, "..", "build", "bench", "cli", "pagable"))
    ap.add_argument("--registry", default=os.path.join(HERE, "..", ".deps", "docker-registry", "usr", "bin", "docker-registry"))
    ap.add_argument("--leaves", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="pagable-remote-bench-") as tmp:
        port = free_port()
        config = os.path.join(tmp, "config.yml")
        with open(config, "w") as f:
            f.write("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {tmp}/storage\n"
                    f"http:\n  addr: 127.0.0.1:{port}\n")
        registry = subprocess.Popen([args.registry, "serve", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(100):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            for n, path in enumerate(args.documents):
                name = "doc%d" % n
                archive = os.path.join(tmp, name + ".pagable")
                url = "oci+http://127.0.0.1:%d/bench/%s" % (port, name)
                subprocess.run([args.pagable, "pack", archive, path, "--name", name], check=True, stdout=subprocess.DEVNULL)
                subprocess.run([args.pagable, "push", archive, url], check=True, stdout=subprocess.DEVNULL)
                with open(path) as f:
                    pointers = leaves(json.load(f))
                picked = rng.sample(pointers, min(args.leaves, len(pointers)))
                rows = []
                for i, p in enumerate(picked):
                    cache = os.path.join(tmp, "cache-%s-%d" % (name, i))
                    r = subprocess.run([args.pagable, "hydrate", url, name, "--at", p, "--cache", cache, "--stats"],
                                       capture_output=True, text=True)
                    if r.returncode != 0:
                        sys.exit("hydrate --at %s failed: %s" % (p, r.stderr))
                    s = json.loads(r.stderr.strip().splitlines()[-1])["remote"]
                    rows.append(s)
                v = rows[0]
                moved = [(s["index_bytes"] + s["pack_bytes"]) / s["version_bytes"] * 100 for s in rows]
                rounds = [s["fetch_rounds"] for s in rows]
                fetched = [s["packs_fetched"] for s in rows]
                over = [s["fetch_rounds"] - (1 + s["packs_fetched"]) for s in rows]
                print("%s: %d packs, %d bytes stored; %d index blobs (%d bytes, %.2f%% of the version)" %
                      (os.path.basename(path), v["version_packs"], v["version_bytes"], v["indexes_fetched"],
                       v["index_bytes"], v["index_bytes"] / v["version_bytes"] * 100))
                print("  %d cold-cache reads of random leaves: rounds after the manifest median %s max %d "
                      "(max over 1 + packs fetched: %d); packs fetched median %s max %d; "
                      "bytes moved median %.2f%% max %.2f%% of the version's" %
                      (len(rows), statistics.median(rounds), max(rounds), max(over), statistics.median(fetched),
                       max(fetched), statistics.median(moved), max(moved)))
        finally:
            registry.send_signal(signal.SIGTERM)
            registry.wait()


if __name__ == "__main__":
    main()
