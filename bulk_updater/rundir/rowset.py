"""A set of row numbers at one bit per row, so resuming a run of millions of rows stays small
(docs/design.md, "Per-row state lives on disk").

The bits are allocated in blocks as numbers are added, so a stray huge number (a hand-edited
report) costs one block, not a bitmap up to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Set

_BLOCK_BITS = 1 << 16  # 8 KB a block


class RowSet(Set):
    """A set of non-negative row numbers (compares equal to a `set` of the same numbers)."""

    def __init__(self, numbers: Iterable[int] = ()) -> None:
        self._blocks: dict[int, bytearray] = {}
        self._size = 0
        for number in numbers:
            self.add(number)

    def add(self, number: int) -> None:
        block, bit = divmod(number, _BLOCK_BITS)
        bits = self._blocks.get(block)
        if bits is None:
            bits = self._blocks[block] = bytearray(_BLOCK_BITS // 8)
        byte, mask = bit >> 3, 1 << (bit & 7)
        if not bits[byte] & mask:
            bits[byte] |= mask
            self._size += 1

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int) or number < 0:
            return False
        block, bit = divmod(number, _BLOCK_BITS)
        bits = self._blocks.get(block)
        return bits is not None and bool(bits[bit >> 3] & (1 << (bit & 7)))

    def __iter__(self) -> Iterator[int]:
        for block in sorted(self._blocks):
            bits = self._blocks[block]
            for byte, value in enumerate(bits):
                if value:
                    yield from (block * _BLOCK_BITS + byte * 8 + bit for bit in range(8) if value >> bit & 1)

    def __len__(self) -> int:
        return self._size

    def __bool__(self) -> bool:
        return self._size > 0
