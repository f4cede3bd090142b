// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by iSCSI, ext4 and many log
// formats: SSE4.2's crc32 instruction where the CPU has it, else table-driven (tables built at
// compile time), so the journal needs no extra dependency; crc32c("123456789") == 0xE3069283.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tradebus::journal {

/// Continues a CRC over `data`: pass the previous return value as `crc` (0 to start).
[[nodiscard]] std::uint32_t crc32c(const void* data, std::size_t size,
                                   std::uint32_t crc = 0) noexcept;

/// The same CRC by table, whatever the CPU (what crc32c falls back to; tests compare the two).
[[nodiscard]] std::uint32_t crc32c_table(const void* data, std::size_t size,
                                         std::uint32_t crc = 0) noexcept;

}  // namespace tradebus::journal
