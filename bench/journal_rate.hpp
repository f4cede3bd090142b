// Journal write and replay rates against the disk's own: the journal writer appending encoded
// ticks under each fsync policy, and plain write(2) of the same number of bytes with the same
// sync schedule in the same run (the physical limit of this disk for that policy); then the
// reader replaying the journal cold (pages evicted with posix_fadvise) and warm, against plain
// read(2) of the same files cold. All files live in a temp dir on the /tmp filesystem.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>

#include "tradebus/journal/writer.hpp"

namespace tradebus::bench {

struct journal_options {
    std::uint64_t records = 1'000'000;             // per run, policies none and interval
    std::uint64_t every_records = 20'000;          // policy every: one fdatasync per record
    std::chrono::milliseconds time_limit{20'000};  // per run
};

struct io_rate {
    std::uint64_t records = 0;
    std::uint64_t bytes = 0;  // on disk (journal: segment files incl. headers and framing)
    double seconds = 0;
    std::uint64_t syncs = 0;
    bool timed_out = false;
    [[nodiscard]] double records_per_s() const noexcept {
        return seconds > 0 ? static_cast<double>(records) / seconds : 0;
    }
    [[nodiscard]] double mb_per_s() const noexcept {
        return seconds > 0 ? static_cast<double>(bytes) / 1e6 / seconds : 0;
    }
};

struct journal_result {
    /// Index = journal::fsync_policy (none, interval, every).
    std::array<io_rate, 3> append{}, raw_write{};
    io_rate read_cold, read_warm, raw_read_cold;
    double cold_resident = 0;      // fraction of the journal's pages cached when read "cold"
    double raw_cold_resident = 0;  // the same, before the raw read
    std::size_t record_bytes = 0;  // one record on disk
    std::size_t body_bytes = 0;
};

/// Runs every measurement in a fresh directory under `base` (removed afterwards). Throws
/// std::runtime_error on an I/O error.
[[nodiscard]] journal_result run_journal(const std::filesystem::path& base,
                                         const journal_options& opts);

}  // namespace tradebus::bench
