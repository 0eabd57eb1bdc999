"""Real OGG/Opus files without an encoder: silent 20 ms CELT frames in valid OGG pages.

RFC 7845 (Ogg encapsulation of Opus): an ID header page ("OpusHead"), a comment header page
("OpusTags"), then audio pages whose granule position counts 48 kHz samples including the
pre-skip. The frame ``F8 FF FE`` is the usual Opus silence frame (CELT, fullband, 20 ms), so
these files decode (to silence) in any Opus decoder, and their duration reads from the last
granule position as real ones do. The kit's Telegram checks a voice note the bot sends the way
Telegram's clients need it (`ogg_problem`: one well-formed OggOpus stream); the kit's model
service speaks in these files, and a test user's voice notes are made of them.
"""

from __future__ import annotations

import struct
import zlib

PRE_SKIP = 312
FRAME = b"\xf8\xff\xfe"
SAMPLES_PER_FRAME = 960  # 20 ms at 48 kHz
FRAMES_PER_PAGE = 50
SERIAL = 0x0F4B0001


_REFLECT = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _crc(data: bytes) -> int:
    """Ogg's CRC-32 (unreflected polynomial 0x04C11DB7, initial 0, no final xor), computed with
    zlib's reflected CRC-32 on bit-reversed bytes (fast enough for a fake checking megabytes)."""
    raw = zlib.crc32(data.translate(_REFLECT), 0xFFFFFFFF) ^ 0xFFFFFFFF
    return int(f"{raw:032b}"[::-1], 2)


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


def ogg_opus(seconds: float, comment: str = "") -> bytes:
    """An OGG/Opus mono file of ``seconds`` of silence (rounded to 20 ms frames); `comment`,
    when given, is a user comment of its OpusTags header (files of one length told apart)."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, PRE_SKIP, 48000, 0, 0)
    vendor = b"fmbot tests"
    comments = [f"COMMENT={comment}".encode()] if comment else []
    tags = (b"OpusTags" + struct.pack("<I", len(vendor)) + vendor
            + struct.pack("<I", len(comments))
            + b"".join(struct.pack("<I", len(c)) + c for c in comments))
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
    granule: int = struct.unpack_from("<q", data, last + 6)[0]
    pre_skip: int = struct.unpack_from("<H", data, data.find(b"OpusHead") + 10)[0]
    return max(0.0, (granule - pre_skip) / 48000)


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
