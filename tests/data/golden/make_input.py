#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Writes the input of a golden archive (see README.md here): `make_input.py` writes
format-0.json, `make_input.py 1` format-1.json, `make_input.py 3` format-3.json, and
`make_input.py 5` format-5.json: format 3's input as a next run would change it (the second
version of format-5.pagable).

Deterministic: a build graph large enough to be chunked at the default node boundaries, with
the values the canonical encoding must keep exactly (big integers, 1.0, -0.0, non-ASCII
strings, escapes, $refs between targets). Format 1 adds a chunked object of 4,200 members,
enough to be stored as a routed object (FORMAT.md "Routed objects"). Format 3 adds an array of
6,000 strings, chunked at boundaries that its fingerprint places (FORMAT.md "Chunking")."""
import json
import sys

targets = {}
for i in range(1200):
    name = f"//src/module{i:04d}:lib"
    targets[name] = {
        "kind": ["cxx_library", "rust_library", "genrule"][i % 3],
        "srcs": [f"src/module{i:04d}/file{j}.cc" for j in range(i % 4 + 1)],
        "deps": [{"$ref": f"#/targets/~1~1src~1module{j:04d}:lib"} for j in range(max(0, i - 2), i)],
        "weight": i * 1.5 if i % 7 else float(i),
    }
doc = {
    "schema_version": 1,
    "exact": {"big": 123456789012345678901234567890, "neg_big": -98765432109876543210987654321,
              "one_point_zero": 1.0, "negative_zero": -0.0, "tiny": 5e-324, "huge": 1.7976931348623157e308},
    "text": {"unicode": "Grüße, 世界, 🎉", "escapes": "tab\tquote\"backslash\\nul\u0000"},
    "targets": targets,
}
version = int(sys.argv[1]) if len(sys.argv) > 1 else 0
if version >= 1:
    doc["outputs"] = {f"out-{i:05d}": f"value {i * 7919 % 100003:06d} of the routed map, "
                                      "long enough to be worth a fingerprint"
                      for i in range(4200)}
if version >= 3:
    doc["log"] = [f"run {i:05d}: step {i * 104729 % 1000003:07d} finished in {i % 613} ms"
                  for i in range(6000)]
if version >= 5:
    # A next run: one string edited, one log line inserted, one output removed, a member added.
    doc["targets"]["//src/module0600:lib"]["kind"] = "rust_binary"
    doc["log"].insert(3000, "run 99999: step 0000000 finished in 0 ms (inserted)")
    del doc["outputs"]["out-02100"]
    doc["run"] = {"number": 2}
json.dump(doc, sys.stdout, ensure_ascii=False, separators=(",", ":"))
