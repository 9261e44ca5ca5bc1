"""A slow QUIC (RGB32) decoder in Python, for round-trip tests of the C encoder.

It follows the format from the decoder's side (reading codes rather than writing them),
so that an encoder bug shows as a mismatch. It is no proof of interoperability: the
real-client tests decode with spice-gtk and spice-html5 themselves.
"""

from __future__ import annotations

import struct

import numpy as np

MAGIC, VERSION, RGB32 = 0x43495551, 0, 4
CODE_LIMIT, CODES, BUCKETS = 26, 8, 8
MAX_LEVEL, LEVEL_PIXELS = 6, 2048
THRESHOLDS = (110, 550, 900, 800, 550, 400, 350)
RUN_ORDER = (0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, *range(8, 16))


def _code_tables() -> tuple[list[int], list[int], list[list[int]]]:
    """Per code k: the longest unary part, the first escaped value, every value's length."""
    unary_limits, plains, lengths = [], [], []
    for k in range(CODES):
        unary = min(CODE_LIMIT - 8, (1 << (8 - k)) - 1)
        plain = unary << k
        escape_len = unary + (256 - plain - 1).bit_length()
        unary_limits.append(unary)
        plains.append(plain)
        lengths.append([(v >> k) + 1 + k if v < plain else escape_len for v in range(256)])
    return unary_limits, plains, lengths


UNARY_LIMITS, PLAINS, LENGTHS = _code_tables()


def _unfold(e: int) -> int:
    return e >> 1 if e % 2 == 0 else 255 - (e >> 1)


def _bucket(context: int) -> int:
    return min((context + 1).bit_length() - 1, BUCKETS - 1)


class _Reader:
    def __init__(self, words: tuple[int, ...]) -> None:
        self.bits = "".join(f"{w:032b}" for w in words)
        self.pos = 0

    def take(self, n: int) -> int:
        if self.pos + n > len(self.bits):
            raise ValueError("QUIC stream ends early")
        value = int(self.bits[self.pos : self.pos + n] or "0", 2)
        self.pos += n
        return value

    def symbol(self, k: int) -> int:
        zeros = self.bits.find("1", self.pos) - self.pos
        if 0 <= zeros < UNARY_LIMITS[k]:
            self.pos += zeros + 1
            return (zeros << k) | self.take(k)
        return PLAINS[k] + self.take(LENGTHS[k][PLAINS[k]])

    def ones(self) -> int:
        count = 0
        while self.take(1):
            count += 1
        return count


class _Decoder:
    def __init__(self, reader: _Reader, width: int) -> None:
        self.r = reader
        self.errors = [[0] * (width + 1) for _ in range(3)]  # index 0 is the row's left context
        self.totals = [[[0] * CODES for _ in range(BUCKETS)] for _ in range(3)]
        self.best = [[CODES - 1] * BUCKETS for _ in range(3)]
        self.countdown, self.seed, self.level, self.level_left, self.run_state = 0, 0xFF, 0, 2048, 0

    def spacing(self, mask: int) -> int:
        self.seed = (self.seed + 1) & 0xFF
        return SPACING[self.seed] & mask

    def pixel(self, above: list[int] | None, row: list[int], i: int) -> None:
        value = 0
        for p in range(3):
            shift = 16 - 8 * p
            error = self.r.symbol(self.best[p][_bucket(self.errors[p][i])])
            self.errors[p][i + 1] = error
            if above is None:
                predicted = (row[i - 1] >> shift) & 0xFF if i else 0
            elif i == 0:
                predicted = (above[0] >> shift) & 0xFF
            else:
                predicted = (((row[i - 1] >> shift) & 0xFF) + ((above[i] >> shift) & 0xFF)) >> 1
            value |= ((_unfold(error) + predicted) & 0xFF) << shift
        row[i] = value

    def learn(self, i: int) -> None:
        for p in range(3):
            bucket = _bucket(self.errors[p][i])
            error = self.errors[p][i + 1]
            totals = self.totals[p][bucket]
            for k in range(CODES):
                totals[k] += LENGTHS[k][error]
            best = min(range(CODES - 1, -1, -1), key=lambda k: totals[k])
            self.best[p][bucket] = best
            if totals[best] > THRESHOLDS[self.level]:
                totals[:] = [t >> 1 for t in totals]

    def run_length(self) -> int:
        length = 0
        while self.r.take(1):
            length += 1 << RUN_ORDER[self.run_state]
            self.run_state = min(self.run_state + 1, len(RUN_ORDER) - 1)
        length += self.r.take(RUN_ORDER[self.run_state])
        self.run_state = max(self.run_state - 1, 0)
        return length

    def span(self, above: list[int] | None, row: list[int], i: int, end: int) -> None:
        mask = (1 << self.level) - 1
        last_run = 0
        if i == 0:
            self.pixel(above, row, 0)
            if self.countdown:
                self.countdown -= 1
            else:
                self.countdown = self.spacing(mask)
                self.learn(0)
            i = 1
        next_update = i + self.countdown
        while i < end:
            same = above is not None and i > 2 and i != last_run
            if same and above[i - 1] == above[i] and row[i - 1] == row[i - 2]:  # type: ignore[index]
                self.countdown = next_update - i
                last_run = i
                length = self.run_length()
                if length > end - i:
                    raise ValueError("run past the end of the row")
                row[i : i + length] = [row[i - 1]] * length
                i += length
                next_update = i + self.countdown
                continue
            self.pixel(above, row, i)
            if i == next_update:
                self.learn(i)
                next_update = i + 1 + self.spacing(mask)
            i += 1
        self.countdown = next_update - end

    def row(self, above: list[int] | None, row: list[int]) -> None:
        start, width = 0, len(row)
        while self.level < MAX_LEVEL and self.level_left <= width - start:
            if self.level_left:
                self.span(above, row, start, start + self.level_left)
                start += self.level_left
            self.level += 1
            self.level_left = LEVEL_PIXELS
        if start < width:
            self.span(above, row, start, width)
            if self.level < MAX_LEVEL:
                self.level_left -= width - start


def decode(stream: bytes) -> np.ndarray:
    """The (height, width) uint32 0x00RRGGBB pixels of an RGB32 QUIC stream."""
    if len(stream) % 4:
        raise ValueError("a QUIC stream is whole 32-bit words")
    words = struct.unpack(f"<{len(stream) // 4}I", stream)
    magic, version, kind, width, height = words[:5]
    if (magic, version, kind) != (MAGIC, VERSION, RGB32):
        raise ValueError(f"not an RGB32 QUIC stream: {magic:#x} {version} {kind}")
    decoder = _Decoder(_Reader(words[5:]), width)
    rows: list[list[int]] = []
    for y in range(height):
        row = [0] * width
        if y:
            for p in range(3):
                decoder.errors[p][0] = decoder.errors[p][1]
        decoder.row(rows[-1] if rows else None, row)
        rows.append(row)
    return np.array(rows, dtype=np.uint32).reshape(height, width)


# The pseudo-random sequence spacing model updates (part of the format).
SPACING = (
    0x02C57542,
    0x35427717,
    0x2F5A2153,
    0x9244F155,
    0x7BD26D07,
    0x354C6052,
    0x57329B28,
    0x2993868E,
    0x6CD8808C,
    0x147B46E0,
    0x99DB66AF,
    0xE32B4CAC,
    0x1B671264,
    0x9D433486,
    0x62A4C192,
    0x06089A4B,
    0x9E3DCE44,
    0xDAABEE13,
    0x222425EA,
    0xA46F331D,
    0xCD589250,
    0x8BB81D7F,
    0xC8B736B9,
    0x35948D33,
    0xD7AC7FD0,
    0x5FBE2803,
    0x2CFBC105,
    0x013DBC4E,
    0x7A37820F,
    0x39F88E9E,
    0xEDD58794,
    0xC5076689,
    0xFCADA5A4,
    0x64C2F46D,
    0xB3BA3243,
    0x8974B4F9,
    0x5A05AEBD,
    0x20AFCD00,
    0x39E2B008,
    0x88A18A45,
    0x600BDE29,
    0xF3971ACE,
    0xF37B0A6B,
    0x7041495B,
    0x70B707AB,
    0x06BEFFBB,
    0x4206051F,
    0xE13C4EE3,
    0xC1A78327,
    0x91AA067C,
    0x8295F72A,
    0x732917A6,
    0x1D871B4D,
    0x4048F136,
    0xF1840E7E,
    0x6A6048C1,
    0x696CB71A,
    0x7FF501C3,
    0x0FC6310B,
    0x57E0F83D,
    0x8CC26E74,
    0x11A525A2,
    0x946934C7,
    0x7CD888F0,
    0x8F9D8604,
    0x4F86E73B,
    0x04520316,
    0xDEEEA20C,
    0xF1DEF496,
    0x67687288,
    0xF540C5B2,
    0x22401484,
    0x3478658A,
    0xC2385746,
    0x01979C2C,
    0x5DAD73C8,
    0x0321F58B,
    0xF0FEDBEE,
    0x92826DDF,
    0x284BEC73,
    0x5B1A1975,
    0x03DF1E11,
    0x20963E01,
    0xA17CF12B,
    0x740D776E,
    0xA7A6BF3C,
    0x01B5CCE4,
    0x1118AA76,
    0xFC6FAC0A,
    0xCE927E9B,
    0x00BF2567,
    0x806F216C,
    0xBCA69056,
    0x795BD3E9,
    0xC9DC4557,
    0x8929B6C2,
    0x789D52EC,
    0x3F3FBF40,
    0xB9197368,
    0xA38C15B5,
    0xC3B44FA8,
    0xCA8333B0,
    0xB7E8D590,
    0xBE807FEB,
    0xBF5F8360,
    0xD99E2F5C,
    0x372928E1,
    0x7C757C4C,
    0x0DB5B154,
    0xC01EDE02,
    0x1FC86E78,
    0x1F3985BE,
    0xB4805C77,
    0x00C880FA,
    0x974C1B12,
    0x35AB0214,
    0xB2DC840D,
    0x5B00AE37,
    0xD313B026,
    0xB260969D,
    0x7F4C8879,
    0x1734C4D3,
    0x49068631,
    0xB9F6A021,
    0x6B863E6F,
    0xCEE5DEBF,
    0x29F8C9FB,
    0x53DD6880,
    0x72B61223,
    0x1F67A9FD,
    0x0A0F6993,
    0x13E59119,
    0x11CCA12E,
    0xFE6B6766,
    0x16B6EFFC,
    0x97918FC4,
    0xC2B8A563,
    0x94F2F741,
    0x0BFA8C9A,
    0xD1537AE8,
    0xC1DA349C,
    0x873C60CA,
    0x95005B85,
    0x9B5C080E,
    0xBC8ABBD9,
    0xE1EAB1D2,
    0x6DAC9070,
    0x4EA9EBF1,
    0xE0CF30D4,
    0x1EF5BD7B,
    0xD161043E,
    0x5D2FA2E2,
    0xFF5D3CAE,
    0x86ED9F87,
    0x2AA1DAA1,
    0xBD731A34,
    0x9E8F4B22,
    0xB1C2C67A,
    0xC21758C9,
    0xA182215D,
    0xCCB01948,
    0x8D168DF7,
    0x04238CFE,
    0x368C3DBC,
    0x0AEADCA5,
    0xBAD21C24,
    0x0A71FEE5,
    0x9FC5D872,
    0x54C152C6,
    0xFC329483,
    0x6783384A,
    0xEDDB3E1C,
    0x65F90E30,
    0x884AD098,
    0xCE81675A,
    0x4B372F7D,
    0x68BF9A39,
    0x43445F1E,
    0x40F8D8CB,
    0x90D5ACB6,
    0x4CD07282,
    0x349EEB06,
    0x0C9D5332,
    0x520B24EF,
    0x80020447,
    0x67976491,
    0x2F931CA3,
    0xFE9B0535,
    0xFCD30220,
    0x61A9E6CC,
    0xA487D8D7,
    0x3F7C5DD1,
    0x7D0127C5,
    0x48F51D15,
    0x60DEA871,
    0xC9A91CB7,
    0x58B53BB3,
    0x9D5E0B2D,
    0x624A78B4,
    0x30DBEE1B,
    0x9BDF22E7,
    0x1DF5C299,
    0x2D5643A7,
    0xF4DD35FF,
    0x03CA8FD6,
    0x53B47ED8,
    0x6F2C19AA,
    0xFEB0C1F4,
    0x49E54438,
    0x2F2577E6,
    0xBF876969,
    0x72440EA9,
    0xFA0BAFB8,
    0x74F5B3A0,
    0x7DD357CD,
    0x89CE1358,
    0x6EF2CDDA,
    0x1E7767F3,
    0xA6BE9FDB,
    0x4F5F88F8,
    0xBA994A3A,
    0x08CA6B65,
    0xE0893818,
    0x9E00A16A,
    0xF42BFC8F,
    0x9972EEDC,
    0x749C8B51,
    0x32C05F5E,
    0xD706805F,
    0x6BFBB7CF,
    0xD9210A10,
    0x31A1DB97,
    0x923A9559,
    0x37A7A1F6,
    0x059F8861,
    0xCA493E62,
    0x65157E81,
    0x8F6467DD,
    0xAB85FF9F,
    0x9331AFF2,
    0x8616B9F5,
    0xEDBD5695,
    0xEE7E29B1,
    0x313AC44F,
    0xB903112F,
    0x432EF649,
    0xDC0A36C0,
    0x61CF2BBA,
    0x81474925,
    0xA8B6C7AD,
    0xEE5931DE,
    0xB2F8158D,
    0x59FB7409,
    0x2E3DFAED,
    0x9AF25A3F,
    0xE1FED4D5,
)
