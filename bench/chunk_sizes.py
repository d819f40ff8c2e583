"""Choose the chunk size by measurement (issue 24): ``python -m bench.chunk_sizes``.

For FastCDC average sizes of 64 KiB, 256 KiB and 1 MiB (minimum a quarter, maximum four
times), on 256 MiB of random bytes: the share of new bytes after ten scattered 1 MiB edits
and after a 1 % append (chunks of the variant whose BLAKE3 is not among the original's),
and the speed of cutting + hashing on one core, against MD5 of the same bytes. Ten edits
in 256 MiB are four times as dense as in the 1 GiB target: divide that column by 4.
"""

from __future__ import annotations

import hashlib
import os
import random
import time

import blake3
from pyfastcdc.cy import FastCDC

SIZE = 256 << 20
MiB = 1 << 20


def chunks(data: bytes | bytearray, avg: int) -> list[tuple[bytes, int]]:
    cdc = FastCDC(avg, min_size=avg // 4, max_size=avg * 4)
    return [(blake3.blake3(chunk.data).digest(), chunk.length) for chunk in cdc.cut_buf(data)]


def main() -> None:
    data = bytearray(os.urandom(SIZE))
    rng = random.Random(1)
    edited = bytearray(data)
    for _ in range(10):
        offset = rng.randrange(0, SIZE - MiB)
        edited[offset : offset + MiB] = os.urandom(MiB)
    appended = data + os.urandom(SIZE // 100)
    for avg in (64 << 10, 256 << 10, 1 << 20):
        start = time.perf_counter()
        base = chunks(data, avg)
        seconds = time.perf_counter() - start
        have = {digest for digest, _size in base}
        news = {}
        for name, other in (("edits", edited), ("append", appended)):
            new = sum(size for digest, size in chunks(other, avg) if digest not in have)
            news[name] = 100 * new / len(other)
        print(
            f"avg {avg >> 10:5d} KiB: {len(base)} chunks (mean {SIZE / len(base) / 1024:.0f} KiB),"
            f" new after edits {news['edits']:.2f} %, after append {news['append']:.2f} %,"
            f" cut + BLAKE3 {SIZE / seconds / 1e9:.2f} GB/s"
        )
    start = time.perf_counter()
    hashlib.md5(data).digest()
    print(f"MD5 {SIZE / (time.perf_counter() - start) / 1e9:.2f} GB/s")


if __name__ == "__main__":
    main()
