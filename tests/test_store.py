"""Run plumbing: cached stages, hashes, atomic writes, append-only logs."""
import hashlib
import json
from dataclasses import dataclass

import pytest

from minitranscend import store


def test_cached_json_reuses_a_result_only_for_the_same_settings(tmp_path):
    path, calls = tmp_path / "stage" / "result.json", []

    def compute():
        calls.append(1)
        return {"value": len(calls)}

    first = store.cached_json(path, {"n": 1}, compute)
    assert first == {"stamp": {"n": 1}, "value": 1}
    assert store.cached_json(path, {"n": 1}, compute) == first and len(calls) == 1
    assert store.cached_json(path, {"n": 2}, compute)["value"] == 2  # new settings: recomputed
    assert store.cached_json(path, {"n": 2}, compute, force=True)["value"] == 3
    assert store.load_if_current(path, {"n": 2}) == {"stamp": {"n": 2}, "value": 3}
    assert store.load_if_current(path, {"n": 1}) is None
    assert not list(path.parent.glob("*.tmp"))


@dataclass(frozen=True)
class _Settings:
    a: int = 1


def test_settings_hash_is_sha1_of_sorted_json_and_takes_dataclasses():
    parts = ({"b": 2, "a": 1}, 3)
    want = hashlib.sha1(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:8]
    assert store.settings_hash(parts) == want  # the recipe the folder names were made with
    assert store.settings_hash(_Settings()) == store.settings_hash({"a": 1})
    assert len(store.settings_hash(parts, length=16)) == 16


def test_file_digest_of_several_files_is_that_of_their_concatenation(tmp_path):
    (tmp_path / "a").write_bytes(b"hello ")
    (tmp_path / "b").write_bytes(b"world")
    assert store.file_digest([tmp_path / "a", tmp_path / "b"]) == \
        hashlib.sha256(b"hello world").hexdigest()
    assert store.file_digest(tmp_path / "a", "sha1", 10) == hashlib.sha1(b"hello ").hexdigest()[:10]


def test_read_jsonl_drops_only_a_torn_last_line(tmp_path, capsys):
    path = tmp_path / "log.jsonl"
    store.append_jsonl(path, [{"i": 0}, {"i": 1}])
    with open(path, "a") as fh:
        fh.write('{"i": 2')  # an append interrupted mid-line
    assert store.read_jsonl(path) == [{"i": 0}, {"i": 1}]
    assert "torn last line" in capsys.readouterr().err
    assert path.read_text().endswith("}\n")  # cut, so the next append starts a fresh line
    path.write_text('{"i": 0}\nnot json\n{"i": 2}\n')
    with pytest.raises(store.DamagedFileError, match=r"log.jsonl:2"):
        store.read_jsonl(path)
    assert path.read_text() == '{"i": 0}\nnot json\n{"i": 2}\n'  # nothing deleted


def test_atomic_writes_of_one_file_from_many_writers_at_once(tmp_path):
    # two training seeds may cache the same tokenized arrays at the same moment: each writer
    # renames its own complete copy, none fails, and no temporary file is left
    from concurrent.futures import ThreadPoolExecutor

    from minitranscend.store import atomic_write_bytes

    path = tmp_path / "cache.npz"
    blobs = [bytes([k]) * 2_000_000 for k in range(8)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda b: atomic_write_bytes(path, b), blobs * 3))
    assert path.read_bytes() in blobs
    assert [p.name for p in tmp_path.iterdir()] == ["cache.npz"]
