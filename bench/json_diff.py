#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""A structural diff of two JSON files in Python, the peer `bench/run` times `pagable diff`
against: both documents parsed whole, objects compared member by member, arrays aligned by
difflib's SequenceMatcher on a hash of each item (so an insertion is one change), changes
printed one per line as JSON Pointer and values, like `pagable diff`'s human view.

    bench/json_diff.py A.json B.json
"""
import difflib
import json
import sys


def token(t):
    return str(t).replace("~", "~0").replace("/", "~1")


def key(v):
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def diff(a, b, path, out):
    stack = [(a, b, path)]
    while stack:
        a, b, path = stack.pop()
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            for k in a:
                if k not in b:
                    out.append(("-", path + "/" + token(k), a[k]))
                elif a[k] != b[k]:
                    stack.append((a[k], b[k], path + "/" + token(k)))
            for k in b:
                if k not in a:
                    out.append(("+", path + "/" + token(k), b[k]))
        elif isinstance(a, list) and isinstance(b, list):
            ka, kb = [key(x) for x in a], [key(x) for x in b]
            sm = difflib.SequenceMatcher(None, ka, kb, autojunk=False)
            for tag, i1, i2, j1, j2 in sm.get_opcodes():
                if tag == "equal":
                    continue
                paired = min(i2 - i1, j2 - j1)
                for t in range(paired):
                    stack.append((a[i1 + t], b[j1 + t], f"{path}/{i1 + t}"))
                for i in range(i1 + paired, i2):
                    out.append(("-", f"{path}/{i}", a[i]))
                for j in range(j1 + paired, j2):
                    out.append(("+", f"{path}/{j}", b[j]))
        else:
            out.append(("~", path, b))


def main():
    with open(sys.argv[1]) as f:
        a = json.load(f)
    with open(sys.argv[2]) as f:
        b = json.load(f)
    out = []
    diff(a, b, "", out)
    for op, path, value in out:
        print(op, path, json.dumps(value)[:72])
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main())
