#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Writes one large JSON document of about MB megabytes, deterministically and streaming
(never more than one batch of records in memory):

    gen_big_doc.py MB OUT      (OUT "-" for standard output)

{"generator": "...", "records": [record 0, record 1, ...]}: package-registry-like records of
about 600 bytes (id, name, version, kind, score, tags, a description of dictionary words,
per-browser support like the browser-compat data, 0-4 dependencies). Every field comes from
a xorshift generator seeded by the record's index, so the same MB gives the same bytes on any
machine and Python version; values repeat enough to compress about as well as real JSON.
"""
import sys

WORDS = ("the of and to in is for on with as by that this from be are or at an it not "
         "value object array string number schema request response header token user repo "
         "commit branch issue label event package version release browser feature support "
         "parameter property required optional default deprecated experimental standard "
         "returns list create update delete get set enable disable status error message").split()
KINDS = ["library", "tool", "framework", "plugin", "types", "cli", "service"]
BROWSERS = ["chrome", "edge", "firefox", "opera", "safari", "deno", "nodejs"]
MASK = (1 << 64) - 1
VERSION = 1


def rng(i):
    x = ((i + 1) * 0x9E3779B97F4A7C15) & MASK
    while True:
        x ^= (x << 13) & MASK
        x ^= x >> 7
        x ^= (x << 17) & MASK
        yield x


def record(i):
    r = rng(i)
    n = lambda m: next(r) % m  # noqa: E731
    words = " ".join(WORDS[n(len(WORDS))] for _ in range(12 + n(20)))
    tags = ",".join('"%s"' % WORDS[n(len(WORDS))] for _ in range(1 + n(4)))
    support = ",".join('"%s":{"version_added":"%d","flags":%s}' % (
        b, 1 + n(120), "[]" if n(4) else '[{"type":"preference","name":"%s.enabled"}]' % WORDS[n(len(WORDS))])
        for b in BROWSERS if n(3))
    deps = ",".join('{"name":"pkg-%d","range":"^%d.%d.0"}' % (n(max(i, 1)), n(9), n(30))
                    for _ in range(n(5)))
    return ('{"id":%d,"name":"pkg-%d","version":"%d.%d.%d","kind":"%s","score":%d.%02d,'
            '"tags":[%s],"description":"%s","support":{%s},"deps":[%s]}'
            % (i, i, n(9), n(40), n(100), KINDS[n(len(KINDS))], n(100), n(100), tags, words,
               support, deps))


def main():
    target = int(float(sys.argv[1]) * 1e6)
    out = sys.stdout.buffer if sys.argv[2] == "-" else open(sys.argv[2], "wb")
    head = ('{"generator":"pagable bench/gen_big_doc.py v%d","records":[' % VERSION).encode()
    out.write(head)
    written = len(head)
    i = 0
    while written < target:
        batch = ",".join(record(j) for j in range(i, i + 5000))
        data = (("," if i else "") + batch).encode()
        out.write(data)
        written += len(data)
        i += 5000
    out.write(b"]}\n")
    out.close()


if __name__ == "__main__":
    main()
