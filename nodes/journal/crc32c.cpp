#include "tradebus/journal/crc32c.hpp"

#include <array>
#include <cstring>

namespace tradebus::journal {

namespace {

#if defined(__x86_64__)
// SSE4.2's crc32 instruction computes this very CRC, 8 bytes per instruction: ~10x the table
// (the journal checks every record it writes and reads). Used when the CPU has it.
__attribute__((target("sse4.2"))) std::uint32_t crc32c_sse42(const void* data, std::size_t size,
                                                             std::uint32_t crc) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    std::uint64_t c = ~crc;
    while (size >= 8) {
        std::uint64_t word = 0;
        std::memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        size -= 8;
    }
    auto c32 = static_cast<std::uint32_t>(c);
    while (size-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif

// Slicing-by-4: four 256-entry tables, ~4x the speed of the byte-at-a-time loop for the same
// result. Built at compile time.
constexpr std::array<std::array<std::uint32_t, 256>, 4> make_tables() {
    std::array<std::array<std::uint32_t, 256>, 4> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1U) ? (c >> 1) ^ 0x82F63B78U : c >> 1;
        t[0][i] = c;
    }
    for (std::size_t i = 0; i < 256; ++i) {
        for (std::size_t s = 1; s < 4; ++s) {
            const std::uint32_t prev = t[s - 1][i];
            t[s][i] = (prev >> 8) ^ t[0][prev & 0xFFU];
        }
    }
    return t;
}
constexpr auto tables = make_tables();

}  // namespace

std::uint32_t crc32c_table(const void* data, std::size_t size, std::uint32_t crc) noexcept {
    const auto* p = static_cast<const unsigned char*>(data);
    crc = ~crc;
    while (size >= 4) {
        crc ^= static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
               static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
        crc = tables[3][crc & 0xFFU] ^ tables[2][(crc >> 8) & 0xFFU] ^
              tables[1][(crc >> 16) & 0xFFU] ^ tables[0][crc >> 24];
        p += 4;
        size -= 4;
    }
    while (size-- > 0) crc = (crc >> 8) ^ tables[0][(crc ^ *p++) & 0xFFU];
    return ~crc;
}

std::uint32_t crc32c(const void* data, std::size_t size, std::uint32_t crc) noexcept {
#if defined(__x86_64__)
    static const bool hardware = __builtin_cpu_supports("sse4.2");
    if (hardware) return crc32c_sse42(data, size, crc);
#endif
    return crc32c_table(data, size, crc);
}

}  // namespace tradebus::journal
