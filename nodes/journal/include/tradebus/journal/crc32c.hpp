// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven, as used by iSCSI, ext4
// and many log formats. Own implementation (a 1 KiB table built at compile time) so the
// journal needs no extra dependency; crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tradebus::journal {

/// Continues a CRC over `data`: pass the previous return value as `crc` (0 to start).
[[nodiscard]] std::uint32_t crc32c(const void* data, std::size_t size,
                                   std::uint32_t crc = 0) noexcept;

}  // namespace tradebus::journal
