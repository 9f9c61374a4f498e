"""Just enough PNG decoding (stdlib + numpy) to tell a screenshot from a blank one."""

from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Bytes per pixel of the 8-bit colour types: grey, RGB, grey+alpha, RGBA.
_CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}


def decode_png(data: bytes) -> np.ndarray:
    """The pixels of an 8-bit, non-interlaced PNG as a (height, width, channels) array."""
    if not data.startswith(_SIGNATURE):
        raise ValueError("not a PNG")
    position = len(_SIGNATURE)
    header = b""
    compressed = bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            compressed += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    if depth != 8 or colour not in _CHANNELS or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}")
    channels = _CHANNELS[colour]
    stride = width * channels
    raw = zlib.decompress(bytes(compressed))
    pixels = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int32)
        row = _unfilter(kind, line, previous, channels)
        pixels[y] = row
        previous = row
    return pixels.reshape(height, width, channels)


def _unfilter(kind: int, line: np.ndarray, up: np.ndarray, bpp: int) -> np.ndarray:
    if kind == 0:
        return line
    if kind == 2:
        return (line + up) & 0xFF
    if kind == 1:
        # Each byte adds the one bpp to its left: a running sum per channel.
        sums = np.cumsum(line.reshape(-1, bpp), axis=0) & 0xFF
        return sums.reshape(-1).astype(np.int32)
    row = line.tolist()
    above = up.tolist()
    for i in range(len(row)):
        left = row[i - bpp] if i >= bpp else 0
        if kind == 3:
            row[i] = (row[i] + ((left + above[i]) >> 1)) & 0xFF
        elif kind == 4:
            upper_left = above[i - bpp] if i >= bpp else 0
            estimate = left + above[i] - upper_left
            pa, pb, pc = abs(estimate - left), abs(estimate - above[i]), abs(estimate - upper_left)
            if pa <= pb and pa <= pc:
                predictor = left
            elif pb <= pc:
                predictor = above[i]
            else:
                predictor = upper_left
            row[i] = (row[i] + predictor) & 0xFF
        else:
            raise ValueError(f"bad PNG filter {kind}")
    return np.array(row, dtype=np.int32)


def colour_variety(pixels: np.ndarray) -> tuple[int, float]:
    """How many distinct colours, and the share of the commonest one."""
    rgb = pixels[..., :3].reshape(-1, 3).astype(np.uint32)
    packed = (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]
    _, counts = np.unique(packed, return_counts=True)
    return len(counts), float(counts.max()) / float(packed.size)
