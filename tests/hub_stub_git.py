"""Git objects and the LFS rule of the Hub stand-ins (tests/hub_stub.py).

LFS rule (what the Hub stores as an LFS pointer): a non-empty file whose path matches a `filter=lfs` pattern of the
commit's `.gitattributes` (the Hub's default lists *.safetensors, *.onnx, *.bin, *.gz, *.parquet ...; a dataset's adds
*.png, *.wav ...; *.json, *.jsonl, *.csv, *.md are not listed), or of 10 MiB or more, or binary (a NUL byte in its first
512 bytes, the sample the Hub's preupload inspects). A file's oid is its git blob sha1 (of the pointer text for LFS
files, as in git); a folder's is its git tree sha1.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

LFS_MIN_SIZE = 10 * 1024 * 1024
_LFS_EXT = ("7z arrow bin bz2 ckpt ftz gz h5 joblib lfs.* mlmodel model msgpack npy npz onnx ot parquet pb pickle pkl "
            "pt pth rar safetensors tar.* tar tflite tgz wasm xz zip zst").split()
DEFAULT_GITATTRIBUTES = "".join(f"*.{e} filter=lfs diff=lfs merge=lfs -text\n" for e in _LFS_EXT) + (
    "saved_model/**/* filter=lfs diff=lfs merge=lfs -text\n*tfevents* filter=lfs diff=lfs merge=lfs -text\n")
# the Hub's dataset template adds compressed shards and media files
DATASET_GITATTRIBUTES = DEFAULT_GITATTRIBUTES + "".join(
    f"*.{e} filter=lfs diff=lfs merge=lfs -text\n"
    for e in "lz4 mds pcm sam raw aac flac mp3 ogg wav bmp gif png tiff jpg jpeg webp mp4 webm".split())


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a blob with this content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def lfs_pointer(data: bytes) -> bytes:
    """The git-lfs pointer file git stores for this content."""
    return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{hashlib.sha256(data).hexdigest()}\n"
            f"size {len(data)}\n").encode()


@lru_cache(maxsize=64)
def _lfs_patterns(gitattributes: str) -> tuple[re.Pattern, ...]:
    out = []
    for line in gitattributes.splitlines():
        parts = line.split()
        if len(parts) < 2 or parts[0].startswith("#") or "filter=lfs" not in parts[1:]:
            continue
        pat = parts[0].lstrip("/")
        rx = re.escape(pat).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
        rx = rx.replace(r"\?", "[^/]")
        out.append(re.compile(rx if "/" in pat else "(.*/)?" + rx))
    return tuple(out)


def is_lfs(path: str, data: bytes, gitattributes: str) -> bool:
    """Whether the Hub would store `data` at `path` as an LFS file (rule in the module docstring)."""
    if not data:
        return False
    if len(data) >= LFS_MIN_SIZE or b"\0" in data[:512]:
        return True
    return any(p.fullmatch(path) for p in _lfs_patterns(gitattributes))


def tree_sha(entries: dict[str, tuple[bool, str]]) -> str:
    """git tree object id from {name: (is_dir, oid)}."""
    body = b"".join(f"{'40000' if d else '100644'} {n}".encode() + b"\0" + bytes.fromhex(o)
                    for n, (d, o) in sorted(entries.items(), key=lambda kv: kv[0] + ("/" if kv[1][0] else "")))
    return hashlib.sha1(b"tree %d\0" % len(body) + body).hexdigest()
