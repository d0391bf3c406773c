#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Where the bytes of an update go: packs OLD into a new archive under one name, packs NEW as
an update of it, and prints what each table and index grew by (pages from SQLite's `dbstat`,
and inside them payload and unused bytes), and what the new blob rows hold (keys, child lists,
the rest). Also the pages of an archive holding `{}`, by table. Needs the sqlite3 shell.

    bench/layout_breakdown.py PAGABLE OLD.json NEW.json [OLD2.json NEW2.json ...]
"""
import os
import subprocess
import sys
import tempfile

DBSTAT = ("SELECT name, count(*), sum(payload), sum(unused), sum(pgsize) FROM dbstat "
          "GROUP BY name ORDER BY name")


def sql(archive, query):
    out = subprocess.run(["sqlite3", "-readonly", "-separator", "\t", archive, query],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


def dbstat(archive):
    return {r[0]: [int(x or 0) for x in r[1:]] for r in sql(archive, DBSTAT)}


def pack(pagable, archive, path):
    subprocess.run([pagable, "pack", archive, path, "--name", "doc"], check=True,
                   stdout=subprocess.DEVNULL)


def rows(archive, since):
    q = ("SELECT count(*), coalesce(sum(length(key)), 0), coalesce(sum(length(children)), 0), "
         "coalesce(sum(children IS NOT NULL), 0) FROM blobs WHERE id > %d" % since)
    return [int(x) for x in sql(archive, q)[0]]


def max_id(archive):
    return int(sql(archive, "SELECT coalesce(max(id), 0) FROM blobs")[0][0])


def main():
    if len(sys.argv) < 4 or len(sys.argv) % 2 != 0:
        sys.exit(__doc__)
    pagable = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        empty = os.path.join(d, "empty.pagable")
        tiny = os.path.join(d, "tiny.json")
        with open(tiny, "w") as f:
            f.write("{}\n")
        pack(pagable, empty, tiny)
        st = dbstat(empty)
        print(f"archive of {{}}: {os.path.getsize(empty)} bytes, "
              f"{sum(v[0] for v in st.values())} pages: "
              + ", ".join(f"{k} {v[0]}" for k, v in st.items()))
        for old, new in zip(sys.argv[2::2], sys.argv[3::2]):
            archive = os.path.join(d, "a.pagable")
            if os.path.exists(archive):
                os.remove(archive)
            pack(pagable, archive, old)
            before, size0, id0 = dbstat(archive), os.path.getsize(archive), max_id(archive)
            pack(pagable, archive, new)
            after, size1 = dbstat(archive), os.path.getsize(archive)
            n, keys, children, parents = rows(archive, id0)
            print(f"\n{os.path.basename(old)} -> {os.path.basename(new)}: file +{size1 - size0} "
                  f"bytes; {n} new blob rows ({parents} with children): keys {keys} B, "
                  f"child lists {children} B")
            print(f"  {'table/index':24} {'pages':>7} {'bytes':>9} {'payload':>9} {'unused':>9}")
            for name in sorted(set(before) | set(after)):
                b = before.get(name, [0, 0, 0, 0])
                a = after.get(name, [0, 0, 0, 0])
                dp, dpay, dun, dsz = (a[i] - b[i] for i in range(4))
                if dp or dpay:
                    print(f"  {name:24} {dp:>+7} {dsz:>+9} {dpay:>+9} {dun:>+9}")


if __name__ == "__main__":
    main()
