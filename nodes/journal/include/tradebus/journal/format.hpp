// The journal's on-disk format (FORMAT.md is the prose version; keep the two in step).
// Segment file = 32-byte header + records. Record = 12-byte frame (length, its complement,
// CRC-32C) + payload (receive time, flags, topic length, topic, body). All integers are
// little-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace tradebus::journal::format {

inline constexpr std::array<char, 4> magic = {'T', 'B', 'J', '1'};
inline constexpr std::uint16_t version = 1;
inline constexpr std::size_t header_bytes = 32;
/// length (u32) + ~length (u32) + crc32c of the payload (u32).
inline constexpr std::size_t frame_bytes = 12;
/// recv_ts_ns (i64) + flags (u16) + topic_len (u16), before the topic.
inline constexpr std::size_t payload_fixed_bytes = 12;
/// Largest payload a reader accepts (a length beyond it is damage, not a record): far above
/// the bus's own 1 MiB message limit plus the longest topic.
inline constexpr std::uint32_t max_payload_bytes = 16U << 20;
inline constexpr std::string_view segment_prefix = "journal-";
inline constexpr std::string_view segment_suffix = ".tjl";

/// Record flags (bit set). Unknown bits are reserved: writers set them to 0, readers ignore them.
namespace flags {
inline constexpr std::uint16_t undecodable = 0x0001;    // body failed schema decoding; kept raw
inline constexpr std::uint16_t gap_marker = 0x0002;     // written by the journal: a sequence gap
inline constexpr std::uint16_t recorder_mark = 0x0004;  // written by the journal: link position
}  // namespace flags

/// Topic of a recorder mark record, and bytes of its body (epoch u64 + first_seq u64, LE).
inline constexpr std::string_view recorder_mark_topic = "sys.recorder.mark";
inline constexpr std::size_t recorder_mark_bytes = 16;

struct segment_header {
    std::uint64_t first_index = 0;  // index of the segment's first record (global, from 0)
    std::int64_t created_ns = 0;    // wall clock when the segment was created
};

/// The 32 header bytes for `h` (magic, version, header size, first index, created, CRC).
[[nodiscard]] std::array<char, header_bytes> encode_header(const segment_header& h) noexcept;

/// Parses and checks header bytes; nullopt + `why` set when they are not a valid header.
[[nodiscard]] std::optional<segment_header> decode_header(std::string_view bytes, std::string& why);

/// Bytes one record takes on disk.
[[nodiscard]] constexpr std::size_t record_bytes(std::size_t topic_len,
                                                 std::size_t body_len) noexcept {
    return frame_bytes + payload_fixed_bytes + topic_len + body_len;
}

/// Appends one complete record to `out`. Preconditions (the writer checks): topic fits in
/// u16, payload <= max_payload_bytes.
void append_record(std::string& out, std::int64_t recv_ts_ns, std::uint16_t flags,
                   std::string_view topic, std::string_view body);

/// "journal-00000000000000000042.tjl": 20 digits so names sort like the indexes.
[[nodiscard]] std::string segment_name(std::uint64_t first_index);
/// The first index in a segment file name, or nullopt when the name is not a segment's.
[[nodiscard]] std::optional<std::uint64_t> parse_segment_name(std::string_view file_name);

// Little-endian helpers.
void put_u16(char* p, std::uint16_t v) noexcept;
void put_u32(char* p, std::uint32_t v) noexcept;
void put_u64(char* p, std::uint64_t v) noexcept;
[[nodiscard]] std::uint16_t get_u16(const char* p) noexcept;
[[nodiscard]] std::uint32_t get_u32(const char* p) noexcept;
[[nodiscard]] std::uint64_t get_u64(const char* p) noexcept;

}  // namespace tradebus::journal::format
