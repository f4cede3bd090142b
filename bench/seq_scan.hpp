// Reads the envelope's `seq` out of an encoded event without decoding the whole event: the
// subscribers of the throughput runs check every message's sequence number (a gap = a lost
// message) and must not become the bottleneck they measure. Anything the scan does not
// understand falls back to schema::decode_event, so it is never wrong, only sometimes slower.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace tradebus::bench {

/// The envelope seq of the encoded event `body`, or nullopt when the body is not a valid event.
[[nodiscard]] std::optional<std::uint64_t> envelope_seq(std::string_view body);

/// The fast path alone: nullopt when the top-level map holds anything it does not parse
/// before "seq" (exposed so the driver can check it agrees with decode_event).
[[nodiscard]] std::optional<std::uint64_t> scan_seq(std::string_view body) noexcept;

}  // namespace tradebus::bench
