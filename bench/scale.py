# SPDX-License-Identifier: MIT OR Apache-2.0
"""The 1,000,000-blob data set of workload 6, stored three ways with the same content.

The graph is the one `bench_verify_gc build ARCHIVE BLOBS` writes into a pagable archive:
10 roots, each over BLOBS/10 leaves of 60-120 bytes (`leaf(i)` below, byte for byte the C++
`leaf()`), 100 children per inner node. The peers get the same leaves and the same shape:

- git: every leaf a blob, every inner node a tree of 100 entries (`NN.json` files or `NN`
  directories), every root a commit on its own branch `root-R` (written by `git
  fast-import`, then packed once by `git gc`): about 1,010,000 objects, as many as the pagable
  archive has blobs.
- restic: the same leaves as files in the same directory tree (`root-R/AA/BB/CC.json`), one
  snapshot per root (`restic backup root-R`): one data blob per leaf, one tree blob per
  directory.

"Removing part of the roots" is the same everywhere: roots 0-4 (`pagable rm`, `git branch -D`
+ reflog expiry, `restic forget`), so gc / git gc --prune=now / restic prune have half the
data to free. The peers' repositories do not depend on pagable's format and are cached under
CACHE/scale-<blobs>-v<GEN_VERSION>; pagable's archive is rebuilt every run.
"""
import json
import os
import shutil
import subprocess
import tempfile

GEN_VERSION = 1
ROOTS = 10
FANOUT = 100
REMOVED_ROOTS = 5


def leaf(i):
    """Byte for byte bench_verify_gc.cpp's leaf(i)."""
    s = '{"id":%d,"name":"target-%d","deps":[%d,%d]' % (i, i * 7919 % 100003, i % 977, i % 131)
    return (s + "x" * (i % 40) + "}").encode()


def leaf_path(j, per_root):
    """Path of leaf j (0-based within its root) in a tree of FANOUT children per inner node."""
    width = 1
    while width * FANOUT < per_root:
        width *= FANOUT
    # The same grouping as bench_verify_gc: consecutive runs of FANOUT leaves share a parent.
    parts = []
    level = width
    while level >= 1:
        parts.append("%02d" % ((j // level) % FANOUT))
        level //= FANOUT
    return "/".join(parts[:-1] + [parts[-1] + ".json"])


def git_env():
    return dict(os.environ, GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b",
                GIT_COMMITTER_EMAIL="b@b", GIT_AUTHOR_DATE="1700000000 +0000",
                GIT_COMMITTER_DATE="1700000000 +0000")


def restic_env(cache_dir):
    return dict(os.environ, RESTIC_PASSWORD="bench", RESTIC_CACHE_DIR=cache_dir)


def build_git(repo, blobs, log):
    """One commit per root on branch root-R; every leaf a blob, every inner node a tree."""
    per_root = blobs // ROOTS
    os.makedirs(repo)
    subprocess.run(["git", "init", "-q", "--bare", repo], check=True)
    proc = subprocess.Popen(["git", "-C", repo, "fast-import", "--quiet", "--depth=0"],
                            stdin=subprocess.PIPE, env=git_env())
    out = proc.stdin
    for r in range(ROOTS):
        lines = []
        for j in range(per_root):
            data = leaf(r * per_root + j)
            out.write(b"blob\nmark :%d\ndata %d\n%s\n" % (j + 1, len(data), data))
            lines.append(b"M 100644 :%d %s\n" % (j + 1, leaf_path(j, per_root).encode()))
        msg = b"root-%d" % r
        out.write(b"commit refs/heads/root-%d\ncommitter b <b@b> 1700000000 +0000\ndata %d\n%s\n"
                  % (r, len(msg), msg))
        out.writelines(lines)
        out.write(b"\n")
        log(f"    git fast-import: root {r + 1}/{ROOTS}")
    out.close()
    if proc.wait() != 0:
        raise RuntimeError("git fast-import failed")
    subprocess.run(["git", "-C", repo, "symbolic-ref", "HEAD", "refs/heads/root-%d" % (ROOTS - 1)],
                   check=True)
    subprocess.run(["git", "-C", repo, "gc", "-q"], check=True, env=git_env())


def build_restic(repo, blobs, work, log):
    """The leaves as files, one snapshot per root; the files are deleted afterwards. They are
    written to /dev/shm when it has room (one root at a time: 100,000 small files), which
    makes creating them several times cheaper than on a journalled disk."""
    per_root = blobs // ROOTS
    env = restic_env(os.path.join(work, "restic-cache"))
    subprocess.run(["restic", "init", "-q", "-r", repo], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    shm = "/dev/shm"
    if os.path.isdir(shm) and shutil.disk_usage(shm).free > per_root * 8192 + (1 << 30):
        files = tempfile.mkdtemp(prefix="pagable-bench-", dir=shm)
    else:
        files = os.path.join(work, "files")
    try:
        backup_roots(repo, per_root, files, env, log)
    finally:
        shutil.rmtree(files, ignore_errors=True)


def backup_roots(repo, per_root, files, env, log):
    for r in range(ROOTS):
        top = os.path.join(files, "root-%d" % r)
        made = set()
        for j in range(per_root):
            p = os.path.join(top, leaf_path(j, per_root))
            d = os.path.dirname(p)
            if d not in made:
                os.makedirs(d, exist_ok=True)
                made.add(d)
            with open(p, "wb") as f:
                f.write(leaf(r * per_root + j))
        subprocess.run(["restic", "-q", "-r", repo, "backup", "--tag", "root-%d" % r,
                        "root-%d" % r], check=True, env=env, cwd=files,
                       stdout=subprocess.DEVNULL)
        shutil.rmtree(top)
        log(f"    restic backup: root {r + 1}/{ROOTS}")


def peer_repos(cache, blobs, log):
    """The cached git and restic repositories for BLOBS leaves (built on first use)."""
    base = os.path.join(cache, f"scale-{blobs}-v{GEN_VERSION}")
    done = os.path.join(base, "done.json")
    if os.path.exists(done):
        with open(done) as f:
            return json.load(f)
    shutil.rmtree(base, ignore_errors=True)
    os.makedirs(base)
    log(f"  building the cached peer repositories for {blobs:,} blobs (once)")
    info = {"git": os.path.join(base, "git"), "restic": os.path.join(base, "restic")}
    with tempfile.TemporaryDirectory(dir=base) as work:
        build_git(info["git"], blobs, log)
        build_restic(info["restic"], blobs, work, log)
    with open(done, "w") as f:
        json.dump(info, f)
    return info


def copy_tree(src, dst):
    shutil.copytree(src, dst, symlinks=True)
