"""Tiny valid image bytes for tests of the fake Bot API (no imaging library needed)."""

from __future__ import annotations

import struct


def tiny_jpeg(width: int = 64, height: int = 48, payload: bytes = b"") -> bytes:
    """A JPEG header with a real SOF0 frame (so the size can be read), then ``payload``."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + payload + b"\xff\xd9"
