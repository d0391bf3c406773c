#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Writes the seed-shaped graph as JSON, deterministically:

    gen_seed_graph.py N V d OUT

{"nodes": {"k0": {"value": "000...", "deps": []}, "k1": {"value": "111...",
 "deps": [{"$ref": "#/nodes/k0"}]}, ...}} -- N nodes whose value is V bytes (the node's index
repeated), each referring to its d predecessors by {"$ref": "#/nodes/k<j>"}.
"""
import sys


def main():
    n, v, d, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(out, "w") as f:
        f.write('{"nodes":{')
        for i in range(n):
            s = str(i)
            value = (s * (v // len(s) + 1))[:v]
            deps = ",".join('{"$ref":"#/nodes/k%d"}' % (i - j) for j in range(1, d + 1) if i - j >= 0)
            f.write('%s"k%d":{"value":"%s","deps":[%s]}' % ("," if i else "", i, value, deps))
        f.write("}}\n")


if __name__ == "__main__":
    main()
