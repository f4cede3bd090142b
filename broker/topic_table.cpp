#include "tradebus/broker/topic_table.hpp"

namespace tradebus::broker {

namespace {

__extension__ typedef unsigned __int128 u128;

// The 64x64 -> 128-bit product, halves xor-folded (as wyhash's mum): every input bit moves
// both the low bits (the slot) and the top bits (the control byte's tag).
std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

std::uint64_t load8(const char* p) noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, p, sizeof w);
    return w;
}

constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t k2 = 0x8ebc6af09c88c6e3ULL;

}  // namespace

std::uint64_t topic_hash(std::string_view topic) noexcept {
    const char* p = topic.data();
    const std::size_t size = topic.size();
    std::uint64_t h = k0 ^ size;
    std::size_t n = size;
    for (; n >= 8; n -= 8, p += 8) h = fold_mul(h ^ load8(p), k1);
    if (n > 0) {
        // The last 8 bytes (overlapping what was hashed) when there are that many, else the
        // few bytes there are, zero-padded; the size, hashed first, tells the two apart.
        std::uint64_t w = 0;
        if (size >= 8) {
            w = load8(topic.data() + size - 8);
        } else {
            std::memcpy(&w, p, n);
        }
        h = fold_mul(h ^ w, k2);
    }
    return fold_mul(h, k1 ^ k2);
}

std::size_t topic_table_capacity(std::size_t rows) noexcept {
    std::size_t cap = 16;
    while (rows > cap - cap / 8) cap *= 2;
    return cap;
}

}  // namespace tradebus::broker
