"""Real OGG/Opus files without an encoder: silent 20 ms CELT frames in valid OGG pages.

RFC 7845 (Ogg encapsulation of Opus): an ID header page ("OpusHead"), a comment header page
("OpusTags"), then audio pages whose granule position counts 48 kHz samples including the
pre-skip. The frame ``F8 FF FE`` is the usual Opus silence frame (CELT, fullband, 20 ms), so
these files decode (to silence) in any Opus decoder, and their duration reads from the last
granule position as real ones do. Used by tests (Telegram voice notes) and to make the bot's
built-in `bot check` sample.
"""

from __future__ import annotations

import struct

PRE_SKIP = 312
FRAME = b"\xf8\xff\xfe"
SAMPLES_PER_FRAME = 960  # 20 ms at 48 kHz
FRAMES_PER_PAGE = 50
SERIAL = 0x0F4B0001


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        crc = i << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else (crc << 1)
        table.append(crc & 0xFFFFFFFF)
    return table


_TABLE = _crc_table()


def _crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) ^ _TABLE[((crc >> 24) & 0xFF) ^ byte]) & 0xFFFFFFFF
    return crc


def _page(packets: list[bytes], granule: int, sequence: int, flags: int) -> bytes:
    lacing = b""
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack(
        "<4sBBqIIIB", b"OggS", 0, flags, granule, SERIAL, sequence, 0, len(lacing)
    )
    page = header + lacing + b"".join(packets)
    checksum = _crc(page)
    return page[:22] + struct.pack("<I", checksum) + page[26:]


def ogg_opus(seconds: float) -> bytes:
    """An OGG/Opus mono file of ``seconds`` of silence (rounded to 20 ms frames)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, 48000, 0, 0)
    vendor = b"fmbot tests"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    pages = [_page([head], 0, 0, 0x02), _page([tags], 0, 1, 0)]
    frames = max(1, round(seconds * 1000 / 20))
    sequence, done = 2, 0
    while done < frames:
        count = min(FRAMES_PER_PAGE, frames - done)
        done += count
        granule = PRE_SKIP + done * SAMPLES_PER_FRAME
        flags = 0x04 if done == frames else 0
        pages.append(_page([FRAME] * count, granule, sequence, flags))
        sequence += 1
    return b"".join(pages)


def ogg_duration(data: bytes) -> float | None:
    """Seconds of an OGG/Opus file from its last page's granule position (None: not one)."""
    if not data.startswith(b"OggS") or b"OpusHead" not in data[:64]:
        return None
    last = data.rfind(b"OggS")
    if last < 0 or len(data) < last + 14:
        return None
    granule = struct.unpack_from("<q", data, last + 6)[0]
    pre_skip = struct.unpack_from("<H", data, data.find(b"OpusHead") + 10)[0]
    return max(0.0, (granule - pre_skip) / 48000)
