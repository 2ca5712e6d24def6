# alloc_heavy.py: an allocation-heavy Python workload for the LD_PRELOAD test.
# Builds and drops many dicts, lists, strings, tuples and bytes objects of all
# sizes (Tiny through Huge), then prints one checksum line.  The checksum is
# independent of hash randomisation and of addresses, so a run under glibc and
# a run under hakmem must print the same line; the script also checks closed
# forms of its own sums and exits 1 when one is wrong.
import hashlib
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200000
h = hashlib.sha256()

# dict of strings -> lists, rebuilt and shrunk several times
d = {}
for i in range(N):
    k = "key-%d-%s" % (i, "x" * (i % 37))
    d[k] = [i, str(i) * (i % 5), (i, i * i)]
    if i % 3 == 0 and i > 0:
        del d["key-%d-%s" % (i - 1, "x" * ((i - 1) % 37))]
total = 0
for k in sorted(d):
    v = d[k]
    total += v[0] + v[2][1]
    h.update(k.encode())
expect = sum(i + i * i for i in range(N) if not (i + 1) % 3 == 0 or i + 1 >= N)
if total != expect:
    print("dict sum mismatch", total, expect)
    sys.exit(1)
del d

# lists of growing strings and bytes (realloc through all tiers)
parts = []
s = ""
for i in range(3000):
    s += chr(65 + i % 26) * (i % 50)
    if i % 100 == 0:
        parts.append(s)
blob = b"".join(p.encode() for p in parts)
big = bytearray()
for i in range(200):
    big += bytes([i % 256]) * (i * 100)
h.update(blob)
h.update(bytes(big))
if len(big) != sum(i * 100 for i in range(200)):
    print("bytearray length mismatch")
    sys.exit(1)

# many small tuples and sets, freed in a different order than allocated
objs = [(i, str(i), frozenset((i, i + 1))) for i in range(N)]
objs.sort(key=lambda t: (t[0] * 7919) % N)
acc = 0
for t in objs[::3]:
    acc += t[0] + len(t[1]) + len(t[2])
del objs[::2]
acc += len(objs)
h.update(str(acc).encode())

# a word-count over generated text
words = {}
text = " ".join("w%d" % ((i * i) % 5000) for i in range(N))
for w in text.split():
    words[w] = words.get(w, 0) + 1
top = sorted(words.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
h.update(repr(top).encode())
if sum(words.values()) != N:
    print("word count mismatch")
    sys.exit(1)

print("checksum", h.hexdigest(), len(top), acc)
