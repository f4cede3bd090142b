#include "tradebus/journal/format.hpp"

#include <charconv>
#include <cstring>

#include "tradebus/journal/crc32c.hpp"

namespace tradebus::journal::format {

void put_u16(char* p, std::uint16_t v) noexcept {
    const unsigned wide = v;  // explicit promotion: UBSan builds warn on the implicit one
    for (unsigned i = 0; i < 2; ++i) p[i] = static_cast<char>((wide >> (8U * i)) & 0xFFU);
}
void put_u32(char* p, std::uint32_t v) noexcept {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}
void put_u64(char* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xFFU);
}
std::uint16_t get_u16(const char* p) noexcept {
    std::uint16_t v = 0;
    for (int i = 1; i >= 0; --i) {
        v = static_cast<std::uint16_t>((v << 8) | static_cast<unsigned char>(p[i]));
    }
    return v;
}
std::uint32_t get_u32(const char* p) noexcept {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}
std::uint64_t get_u64(const char* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
    return v;
}

std::array<char, header_bytes> encode_header(const segment_header& h) noexcept {
    std::array<char, header_bytes> b{};
    std::memcpy(b.data(), magic.data(), magic.size());
    put_u16(b.data() + 4, version);
    put_u16(b.data() + 6, static_cast<std::uint16_t>(header_bytes));
    put_u64(b.data() + 8, h.first_index);
    put_u64(b.data() + 16, static_cast<std::uint64_t>(h.created_ns));
    put_u32(b.data() + 24, 0);  // reserved
    put_u32(b.data() + 28, crc32c(b.data(), 28));
    return b;
}

std::optional<segment_header> decode_header(std::string_view bytes, std::string& why) {
    if (bytes.size() < header_bytes) {
        why = "segment header truncated: " + std::to_string(bytes.size()) + " of " +
              std::to_string(header_bytes) + " bytes";
        return std::nullopt;
    }
    if (std::memcmp(bytes.data(), magic.data(), magic.size()) != 0) {
        why = "bad magic (not a tradebus journal segment)";
        return std::nullopt;
    }
    if (crc32c(bytes.data(), 28) != get_u32(bytes.data() + 28)) {
        why = "segment header checksum mismatch";
        return std::nullopt;
    }
    const auto v = get_u16(bytes.data() + 4);
    if (v != version) {
        why = "segment format version " + std::to_string(v) + ", this build reads version " +
              std::to_string(version);
        return std::nullopt;
    }
    if (get_u16(bytes.data() + 6) != header_bytes) {
        why = "segment header size " + std::to_string(get_u16(bytes.data() + 6)) + ", expected " +
              std::to_string(header_bytes);
        return std::nullopt;
    }
    segment_header h;
    h.first_index = get_u64(bytes.data() + 8);
    h.created_ns = static_cast<std::int64_t>(get_u64(bytes.data() + 16));
    return h;
}

void append_record(std::string& out, std::int64_t recv_ts_ns, std::uint16_t flags,
                   std::string_view topic, std::string_view body) {
    const std::size_t payload = payload_fixed_bytes + topic.size() + body.size();
    const std::size_t at = out.size();
    out.resize(at + frame_bytes + payload_fixed_bytes);
    char* p = out.data() + at;
    const auto len = static_cast<std::uint32_t>(payload);
    put_u32(p, len);
    put_u32(p + 4, ~len);
    put_u64(p + 12, static_cast<std::uint64_t>(recv_ts_ns));
    put_u16(p + 20, flags);
    put_u16(p + 22, static_cast<std::uint16_t>(topic.size()));
    out.append(topic);
    out.append(body);
    p = out.data() + at;  // append may have moved the buffer
    put_u32(p + 8, crc32c(p + frame_bytes, payload));
}

std::string segment_name(std::uint64_t first_index) {
    std::array<char, 21> digits{};
    auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), first_index);
    (void)ec;  // 20 digits always fit a u64
    const auto n = static_cast<std::size_t>(end - digits.data());
    std::string name(segment_prefix);
    name.append(20 - n, '0');
    name.append(digits.data(), n);
    name.append(segment_suffix);
    return name;
}

std::optional<std::uint64_t> parse_segment_name(std::string_view name) {
    if (name.size() != segment_prefix.size() + 20 + segment_suffix.size()) return std::nullopt;
    if (!name.starts_with(segment_prefix) || !name.ends_with(segment_suffix)) return std::nullopt;
    const auto digits = name.substr(segment_prefix.size(), 20);
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (ec != std::errc{} || ptr != digits.data() + digits.size()) return std::nullopt;
    return v;
}

}  // namespace tradebus::journal::format
