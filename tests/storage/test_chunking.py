"""The chunk core: streaming cuts equal whole-buffer cuts, edits move few chunks, chunk
lists round-trip and read as corrupt (never as another file) when torn."""

from __future__ import annotations

import hashlib
import random

import pytest
from pyfastcdc.cy import FastCDC

from cairn.core.digest import MD5, XXH128, b64, digest_bytes
from cairn.errors import CorruptionError
from cairn.settings import Settings
from cairn.storage.chunk_lists import (
    ChunkList,
    decode_chunk_list,
    encode_chunk_list,
    reassemble,
)
from cairn.storage.chunking import (
    AVG_SIZE,
    MAX_SIZE,
    MIN_SIZE,
    ChunkRef,
    StreamChunker,
    chunk_digest,
    chunk_key,
)


def random_bytes(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def stream_chunks(data: bytes, block: int) -> list[tuple[bytes, bytes]]:
    chunker = StreamChunker()
    out = []
    for start in range(0, len(data), block):
        out.extend((d, bytes(c)) for d, c in chunker.feed(data[start : start + block]))
    out.extend((d, bytes(c)) for d, c in chunker.finish())
    return out


@pytest.mark.parametrize("block", [1 << 20, 333_333, 9 << 20])
def test_streaming_cuts_equal_cutting_the_whole_buffer(block: int) -> None:
    data = random_bytes(21 * 1024 * 1024 + 12345)
    whole = [
        bytes(c.data) for c in FastCDC(AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE).cut_buf(data)
    ]
    streamed = stream_chunks(data, block)
    assert [c for _d, c in streamed] == whole
    assert b"".join(whole) == data
    assert all(d == chunk_digest(c) for d, c in streamed)
    assert all(len(c) <= MAX_SIZE for _d, c in streamed)


def test_reading_into_the_window_cuts_as_feeding_and_keeps_a_window_until_released() -> None:
    """``space``/``commit`` (the reader writes into the chunker's window, no copy) cut as
    ``feed`` does; a window is written again only after ``before_reuse`` named it, and
    until then the bytes read into it stay as they were (a hash on another thread may
    still be reading them)."""
    data = random_bytes(29 * 1024 * 1024 + 4321, seed=3)
    reads: list[tuple[int, memoryview, bytes]] = []  # window, its view, bytes read into it
    released: list[int] = []

    def before_reuse(window: int) -> None:
        for read_window, view, expected in reads:
            if read_window == window:
                assert bytes(view) == expected  # untouched until now
        reads[:] = [read for read in reads if read[0] != window]
        released.append(window)

    chunker = StreamChunker(before_reuse)
    out: list[bytes] = []
    position = 0
    while position < len(data):
        window, free = chunker.space()
        assert len(free) > 0
        block = data[position : position + 1_000_003][: len(free)]
        free[: len(block)] = block
        reads.append((window, free[: len(block)], block))
        out.extend(bytes(c) for _d, c in chunker.commit(len(block)))
        position += len(block)
    out.extend(bytes(c) for _d, c in chunker.finish())
    assert out == [c for _d, c in stream_chunks(data, 1 << 20)]
    assert len(released) >= 3
    assert released == [(turn + 1) % 2 for turn in range(len(released))]  # in turn


def test_small_and_empty_streams() -> None:
    assert stream_chunks(b"", 1 << 20) == []
    assert [c for _d, c in stream_chunks(b"abc", 1)] == [b"abc"]


def test_scattered_edits_change_only_nearby_chunks() -> None:
    size = 32 * 1024 * 1024
    data = bytearray(random_bytes(size))
    old = {d for d, _c in stream_chunks(bytes(data), 1 << 20)}
    rng = random.Random(7)
    for _ in range(4):
        offset = rng.randrange(size - 65536)
        data[offset : offset + 65536] = random_bytes(65536, seed=offset)
    new_bytes = sum(len(c) for d, c in stream_chunks(bytes(data), 1 << 20) if d not in old)
    # each 64 KiB edit costs about its own chunk plus a neighbour: far below 32 MiB
    assert new_bytes <= 4 * 3 * MAX_SIZE
    assert new_bytes < size * 0.15


def test_chunk_key_names_blake3_apart_from_blob_names() -> None:
    digest = chunk_digest(b"hello")
    key = chunk_key(digest)
    assert key == f"b3/{digest.hex()[:2]}/{digest.hex()[2:]}"
    with pytest.raises(ValueError, match="32 bytes"):
        chunk_key(b"\0" * 16)


def make_list(data: bytes, algorithm: str = MD5) -> tuple[ChunkList, dict[bytes, bytes]]:
    chunks = stream_chunks(data, 1 << 20)
    store = dict(chunks)
    refs = tuple(ChunkRef(d, len(c)) for d, c in chunks)
    return ChunkList(digest_bytes(data, algorithm), algorithm, len(data), refs), store


@pytest.mark.parametrize("algorithm", [MD5, XXH128])
def test_chunk_list_round_trip_and_reassembly(algorithm: str) -> None:
    data = random_bytes(3 * 1024 * 1024 + 7, seed=3)
    chunk_list, store = make_list(data, algorithm)
    encoded = encode_chunk_list(*chunk_list)
    decoded = decode_chunk_list(encoded, "x")
    assert decoded == chunk_list
    out = reassemble(decoded, lambda d, _n: store[d], check_chunks=True, check_digest=True)
    assert b"".join(out) == data


def test_torn_or_truncated_chunk_list_is_corrupt_never_another_file() -> None:
    data = random_bytes(2 * 1024 * 1024, seed=4)
    encoded = encode_chunk_list(*make_list(data)[0])
    for cut in (0, 10, len(encoded) // 2, len(encoded) - 40, len(encoded) - 1):
        with pytest.raises(CorruptionError, match="torn or truncated"):
            decode_chunk_list(encoded[:cut], "l")
    flipped = bytearray(encoded)
    flipped[60] ^= 1
    with pytest.raises(CorruptionError, match="'l'"):
        decode_chunk_list(bytes(flipped), "l")


def test_reassembly_names_a_missing_or_corrupt_chunk() -> None:
    data = random_bytes(2 * 1024 * 1024, seed=5)
    chunk_list, store = make_list(data)
    victim = chunk_list.chunks[1].digest
    bad = dict(store)
    bad[victim] = bytes(len(store[victim]))
    with pytest.raises(CorruptionError, match=chunk_key(victim)):
        b"".join(reassemble(chunk_list, lambda d, _n: bad[d], check_chunks=True))
    with pytest.raises(CorruptionError, match="does not reassemble"):
        b"".join(reassemble(chunk_list, lambda d, _n: bad[d], check_digest=True))

    def missing(digest: bytes, _size: int) -> bytes:
        if digest == victim:
            raise FileNotFoundError(digest.hex())
        return store[digest]

    with pytest.raises(CorruptionError, match=f"{chunk_key(victim)} .* is missing"):
        b"".join(reassemble(chunk_list, missing))


def test_encode_refuses_inconsistent_lists() -> None:
    digest = b64(hashlib.md5(b"ab").digest())
    with pytest.raises(ValueError, match="add up"):
        encode_chunk_list(digest, MD5, 3, [ChunkRef(chunk_digest(b"ab"), 2)])
    with pytest.raises(ValueError, match="Unknown digest algorithm"):
        encode_chunk_list(digest, "sha1", 2, [ChunkRef(chunk_digest(b"ab"), 2)])


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 8 * 1024 * 1024), ("off", 0), ("0", 0), ("16MB", 16_000_000), ("1048576", 1 << 20)],
)
def test_chunk_threshold_setting(value: str | None, expected: int) -> None:
    env = {"CAIRN_ENTITY": "e"} | ({"CAIRN_CHUNK_THRESHOLD": value} if value else {})
    assert Settings.load(environ=env).chunk_threshold == expected


def test_bad_chunk_threshold_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="CAIRN_CHUNK_THRESHOLD"):
        Settings.load(environ={"CAIRN_ENTITY": "e", "CAIRN_CHUNK_THRESHOLD": "big"})
