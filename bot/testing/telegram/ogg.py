"""The check Telegram makes of an uploaded voice note: one well-formed OggOpus stream.

Telegram's clients play a voice note as one Ogg stream of Opus packets (RFC 7845); a chained
file or a page with a bad CRC plays wrong or not at all, so the fake refuses it.
"""

from __future__ import annotations

import struct
import zlib

_REFLECT = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _crc(data: bytes) -> int:
    """Ogg's CRC-32 (unreflected polynomial 0x04C11DB7, initial 0, no final xor), computed with
    zlib's reflected CRC-32 on bit-reversed bytes (fast enough for a fake checking megabytes)."""
    raw = zlib.crc32(data.translate(_REFLECT), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


def ogg_problem(data: bytes) -> str | None:
    """Why ``data`` is not one well-formed OggOpus stream (None: it is): every page's capture
    pattern, length and CRC, one serial number, sequence numbers counting from 0, the first
    page flagged "beginning", the last "end", granule positions never going back."""
    if not data.startswith(b"OggS"):
        return "not an Ogg file"
    at, expected, serial, last_granule, flags = 0, 0, None, 0, 0
    while at < len(data):
        if len(data) < at + 27 or data[at : at + 4] != b"OggS":
            return f"no page at byte {at}"
        flags, granule, page_serial, sequence, checksum, count = struct.unpack_from(
            "<BqIIIB", data, at + 5
        )
        size = 27 + count + sum(data[at + 27 : at + 27 + count])
        page = data[at : at + size]
        if len(page) < size:
            return "a page is cut short"
        if _crc(page[:22] + b"\0\0\0\0" + page[26:]) != checksum:
            return f"bad CRC in page {sequence}"
        if expected == 0:
            serial = page_serial
            if not flags & 0x02 or b"OpusHead" not in page:
                return "the first page is not an OpusHead beginning the stream"
        elif flags & 0x02:
            return f"page {sequence} begins a second stream (a chained file)"
        if page_serial != serial:
            return f"page {sequence} has another serial number"
        if sequence != expected:
            return f"page {sequence} where {expected} was due"
        if granule != -1:
            if granule < last_granule:
                return f"granule position goes back at page {sequence}"
            last_granule = granule
        expected += 1
        at += size
    if not flags & 0x04:
        return "the last page does not end the stream"
    return None
