#!/usr/bin/env python3
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Writes format-0.json, the input of the golden archive format-0.pagable (see README.md here).

Deterministic: a build graph large enough to be chunked at the default node boundaries, with
the values the canonical encoding must keep exactly (big integers, 1.0, -0.0, non-ASCII
strings, escapes, $refs between targets)."""
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
json.dump(doc, sys.stdout, ensure_ascii=False, separators=(",", ":"))
