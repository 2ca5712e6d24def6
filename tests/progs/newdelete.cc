// newdelete.cc: C++ new/delete (plain, array, aligned, sized) through hakmem.
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

struct alignas(64) Wide { double x[8]; };

int main()
{
    std::map<std::string, std::vector<int>> m;
    for (int i = 0; i < 20000; i++)
        m["k" + std::to_string(i % 997)].push_back(i);
    long total = 0;
    for (auto &kv : m)
        for (int v : kv.second)
            total += v;
    int misaligned = 0;
    std::vector<std::unique_ptr<Wide>> w;
    for (int i = 0; i < 1000; i++) {
        w.emplace_back(new Wide());
        misaligned += (reinterpret_cast<std::uintptr_t>(w.back().get()) % 64) != 0;
    }
    Wide *arr = new Wide[33];
    misaligned += (reinterpret_cast<std::uintptr_t>(arr) % 64) != 0;
    delete[] arr;
    int *big = new int[1 << 20];
    big[12345] = 7;
    total += big[12345];
    delete[] big;
    std::printf("keys %zu total %ld misaligned %d\n", m.size(), total, misaligned);
    return 0;
}
