#!/usr/bin/env bash
# The main job: a real program (Debian's python3) runs an allocation-heavy
# workload with hakmem preloaded, and prints hakmem's summary at exit.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB="$PWD/${BUILD:-build}/libhakmem.so"
echo "demo: LD_PRELOAD=$LIB HAKMEM_STATS=1 /usr/bin/python3 (dicts, lists, strings, json round trip)"
LD_PRELOAD="$LIB" HAKMEM_STATS=1 /usr/bin/python3 - <<'PY'
import json, random
random.seed(42)
d = {f"key{i}": [random.random() for _ in range(20)] for i in range(50000)}
s = json.dumps(d)
back = json.loads(s)
words = sorted({("w%d" % random.randrange(10**6)) * (1 + i % 7) for i in range(200000)})
big = [bytearray(random.randrange(1, 300000)) for _ in range(200)]
assert back == d
print(f"python3 under hakmem: {len(d)} keys, json {len(s)} bytes, {len(words)} words, "
      f"{sum(map(len, big))} bytes in big buffers: ok")
PY
