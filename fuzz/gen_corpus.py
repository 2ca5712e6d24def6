#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets: python3 fuzz/gen_corpus.py fuzz/corpus

Each seed is a small program in the byte format its target parses (see the
comments at the top of each fuzz/fuzz_*.c).  The seeds are deterministic, so
rerunning the script reproduces the committed files exactly."""
import os
import random
import struct
import sys

u16 = lambda v: struct.pack('<H', v & 0xFFFF)
u32 = lambda v: struct.pack('<I', v & 0xFFFFFFFF)
u64 = lambda v: struct.pack('<Q', v & 0xFFFFFFFFFFFFFFFF)

TINY, MID, HUGE = 0, 1, 2
MID_MAX = 1048576   # HAKMEM_MID_MAX in include/hakmem.h


# ---- fuzz_ptr_soup: ops by op % 8 ------------------------------------------
def ps_alloc(tier, n):
    if tier == TIER_TINY:                   # the target reads 1 + v % 1024
        return bytes([0, 0]) + u16(max(n, 1) - 1)
    if tier == TIER_MID:
        return bytes([0, 1]) + u32(n - 1025)
    return bytes([0, 2]) + u16((n - MID_MAX - 1) // 8)


TIER_TINY, TIER_MID, TIER_HUGE = TINY, MID, HUGE


def ps_start(i):            # probe block i's start (free it when live)
    return bytes([2, i])


def ps_probe(base, off, extra=b''):   # base < 0x80: block; >= 0x80: foreign pool
    return bytes([3, base, off]) + extra


def ps_wild(i):
    return bytes([6, i])


def ps_addr(a):
    return bytes([0x87]) + u64(a)


def ps_trim():
    return bytes([7])


def ptr_soup():
    seeds = {}
    blocks = ps_alloc(TINY, 24) + ps_alloc(TINY, 24) + ps_alloc(MID, 5000) + ps_alloc(HUGE, MID_MAX + 300000)
    seeds['alloc_free_double'] = blocks + b''.join(ps_start(i) + ps_start(i) for i in range(4))
    for off in range(20):
        extra = u32(0x12345) if off in (14, 15, 16) else b''
        seeds['offset_%02d' % off] = blocks + b''.join(ps_probe(i, off, extra) for i in range(4))
    for f in range(13):
        seeds['foreign_%02d' % f] = b''.join(ps_probe(0x80 + f, off) for off in (0, 1, 2, 6, 7, 8, 10, 12, 13))
    seeds['wild_all'] = b''.join(ps_wild(i) for i in range(18))
    seeds['addresses'] = b''.join(ps_addr(a) for a in (0, 1, 0x1000, 1 << 47, 0xFFFF800000000000, 0x7F0000000000))
    # freed blocks next to a live neighbour (pinned slab), then probe them
    seeds['pinned_freed'] = (ps_alloc(TINY, 40) * 4 + ps_start(0) + ps_start(2) + ps_probe(0, 0) +
                             ps_probe(0, 1) + ps_probe(2, 2) + ps_alloc(TINY, 40) + ps_probe(0, 0))
    seeds['mid_freed'] = ps_alloc(MID, 2000) * 3 + ps_start(1) + ps_probe(1, 0) + ps_probe(1, 6) + ps_start(1)
    seeds['huge_freed'] = ps_alloc(HUGE, MID_MAX + 700000) + ps_start(0) + ps_probe(0, 0) + ps_probe(0, 11) + ps_start(0)
    seeds['trim'] = ps_alloc(TINY, 100) * 3 + ps_start(1) + ps_trim() + ps_probe(1, 0) + ps_start(0)
    return seeds


# ---- fuzz_corrupt: ops by op % 4 ---------------------------------------------
def cr_alloc(tier, n):
    if tier == TINY:                        # the target reads 1 + v % 1024
        return bytes([0, 0]) + u16(max(n, 1) - 1)
    if tier == MID:
        return bytes([0, 1]) + u32(n - 1025)
    return bytes([0, 2]) + u16((n - MID_MAX - 1) // 8)


def corrupt():
    seeds = {}
    r = random.Random(4)
    # blocks 0,1 (tiny 24) and 2 (mid 5000) exist before the program runs
    for v in (0x00, 0x01, 0x02, 0xFF, 0x80, 0xA5):
        extra = bytes([3]) if v == 0xA5 else b''
        seeds['tiny_tag_%02x' % v] = bytes([2, 0, v]) + extra + bytes([2, 1, 0xA5, 0])
    for first in (0, 3, 4, 8, 15):
        seeds['mid_hdr_%02d' % first] = bytes([2, 2, first, 3]) + bytes(r.randrange(256) for _ in range(4))
    seeds['mid_flip'] = bytes([2, 2, 8, 0, 0xA5, 0, 0xA5, 1])
    seeds['huge_front'] = cr_alloc(HUGE, MID_MAX + 300000) + bytes([2, 3, 0, 3, 1, 2, 3, 4])
    seeds['new_mid_then_corrupt'] = cr_alloc(MID, 70000) + cr_alloc(MID, 1500) + bytes([2, 3, 12, 3, 9, 9, 9, 9, 3, 4])
    seeds['many_tiny'] = b''.join(cr_alloc(TINY, n) for n in (0, 1, 15, 16, 17, 1024)) + \
        b''.join(bytes([2, i, r.randrange(256)]) for i in range(3, 9))
    seeds['free_only'] = bytes([3, 0, 3, 1, 3, 2])
    # op 4: overflow past block i: length byte (1 + v % 16), then the bytes
    seeds['overflow_tiny_nul'] = bytes([4, 0, 0, 0x00])
    seeds['overflow_tiny_flip'] = bytes([4, 1, 0, 0xA5, 7])
    seeds['overflow_mid_8'] = bytes([4, 2, 7]) + b'aaaaaaaa'
    # 9 bytes: magic and class rewritten with themselves (0xA5 escapes flip a bit,
    # so these do change them), then one check-word bit
    seeds['overflow_mid_check_bit'] = bytes([4, 2, 8]) + b''.join(bytes([0xA5, 0]) for _ in range(8)) + bytes([0xA5, 3])
    seeds['overflow_last_tiny'] = b''.join(cr_alloc(TINY, 900) for _ in range(6)) + bytes([4, 8, 0, 0])
    return seeds


# ---- fuzz_ops: ops by op % 12, then a slot byte --------------------------------
def sz(kind, v=0):      # gen_size selector + payload
    if kind == 'small':
        return bytes([0, v])
    if kind == 'tiny':
        return bytes([1]) + u16(v - 1)
    if kind == 'mid':
        return bytes([2]) + u32(v - 1025)
    if kind == 'huge':
        return bytes([3]) + u16((v - MID_MAX - 1) // 16)
    if kind == 'edge':
        return bytes([4, v])
    if kind == 'absurd':
        return bytes([6, v])
    raise ValueError(kind)


def ops():
    seeds = {}
    M = lambda s, size: bytes([0, s]) + size
    seeds['malloc_tiers'] = M(0, sz('small', 0)) + M(1, sz('tiny', 100)) + M(2, sz('mid', 5000)) + \
        M(3, sz('huge', MID_MAX + 300000)) + bytes([7, 0, 8, 1, 9, 2, 7, 3])
    seeds['edges'] = b''.join(M(i, sz('edge', i)) for i in range(32)) + b''.join(M(i, sz('edge', 32 + i)) for i in range(13))
    seeds['absurd'] = b''.join(M(i, sz('absurd', i)) for i in range(10))
    seeds['calloc'] = bytes([1, 0, 0, 7]) + sz('tiny', 100) + bytes([1, 1, 0, 3]) + sz('mid', 20000) + \
        bytes([1, 2, 0xF0, 0]) + sz('tiny', 2) + bytes([1, 3, 0, 64]) + sz('huge', MID_MAX + 300000)
    seeds['realloc_grow'] = M(0, sz('tiny', 10)) + bytes([2, 0]) + sz('tiny', 900) + bytes([2, 0]) + sz('mid', 9000) + \
        bytes([2, 0]) + sz('huge', MID_MAX + 400000) + bytes([2, 0]) + sz('small', 3) + bytes([2, 0]) + sz('small', 0)
    seeds['realloc_null'] = bytes([2, 5]) + sz('tiny', 50) + bytes([2, 5]) + sz('absurd', 0)
    seeds['reallocarray'] = M(0, sz('tiny', 10)) + bytes([3, 0, 0, 5]) + sz('tiny', 100) + bytes([3, 0, 0xF0, 0]) + sz('tiny', 100)
    for name, op in (('aligned_alloc', 4), ('posix_memalign', 5), ('memalign', 6)):
        body = b''
        for k, al in enumerate((0, 4, 5, 6, 12, 13, 16, 21, 0xF3, 0xE9)):
            body += bytes([op, k, al]) + (sz('tiny', 100) if k % 3 == 0 else sz('mid', 3000) if k % 3 == 1 else sz('huge', MID_MAX + 300000))
        seeds[name] = body + bytes([9, 0, 9, 1, 9, 2])
    seeds['usable'] = M(0, sz('tiny', 17)) + bytes([10, 0]) + M(1, sz('mid', 1100)) + bytes([10, 1, 11, 0, 0x8B, 1])
    # op 140 (8 with the high bit): a sized free with a size/alignment from the input
    SZ = lambda s, sel, tail: bytes([140, s, sel]) + tail
    seeds['sized_random'] = M(0, sz('tiny', 16)) + SZ(0, 1, sz('tiny', 4096)) + M(1, sz('mid', 100000)) + \
        SZ(1, 1, sz('small', 16)) + M(2, sz('tiny', 40)) + SZ(2, 0, bytes([0xEC])) + \
        bytes([4, 3, 6]) + sz('tiny', 64) + SZ(3, 2, bytes([12])) + M(4, sz('huge', 3 << 20)) + SZ(4, 0x81, b'') + \
        M(5, sz('small', 0)) + SZ(5, 0, bytes([1]))
    r = random.Random(7)
    for k in range(6):
        seeds['random_%d' % k] = bytes(r.randrange(256) for _ in range(200))
    return seeds


# ---- fuzz_threads: thread 0 reads even bytes, thread 1 odd; 8-byte steps ----
def threads():
    seeds = {}

    def step(op0, sel0, v0, op1, sel1, v1):
        # bytes i+0, i+2, i+4, i+6 are thread 0's op, sel, v lo, v hi
        return bytes([op0, op1, sel0, sel1, v0 & 255, v1 & 255, v0 >> 8, v1 >> 8])

    alloc_send = step(0, 0, 100, 0, 4, 3000) + step(2, 0, 0, 2, 0, 0)
    seeds['exchange'] = alloc_send * 4 + step(3, 0, 0, 3, 0, 0) * 4
    seeds['huge_exchange'] = step(0, 7, 10, 0, 7, 20) + step(2, 0, 0, 2, 0, 0) + step(3, 0, 1, 3, 0, 1)
    seeds['realloc_cross'] = alloc_send * 2 + step(4, 4, 5000, 4, 0, 50) + step(5, 0, 0, 5, 1, 0)
    seeds['leave_to_main'] = step(0, 1, 64, 0, 5, 4000) * 6
    r = random.Random(11)
    for k in range(4):
        seeds['random_%d' % k] = bytes(r.randrange(256) for _ in range(256))
    return seeds


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else 'fuzz/corpus'
    for target, fn in (('ptr_soup', ptr_soup), ('corrupt', corrupt), ('ops', ops), ('threads', threads)):
        d = os.path.join(root, target)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        seeds = fn()
        for name, data in sorted(seeds.items()):
            with open(os.path.join(d, name), 'wb') as fh:
                fh.write(data)
        print('%s: %d seeds' % (target, len(seeds)))


if __name__ == '__main__':
    main()
