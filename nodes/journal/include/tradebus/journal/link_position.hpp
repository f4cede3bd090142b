// Where the journal stands on the broker's recorder link (PROTOCOL.md "The recorder link",
// FORMAT.md "Recorder marks"): the broker epoch and the recorder sequence number of the last
// link message it stored. Kept in the log itself, so a kill -9 loses nothing of it: a mark
// record (epoch, first_seq) goes before the first link message of every run of consecutive
// ones, and the position is the last mark's first_seq plus the link records after it, minus 1.
// Whatever prefix of a batch survived a crash, the count stays exact.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tradebus/journal/reader.hpp"

namespace tradebus::journal {

struct link_position {
    std::uint64_t epoch = 0;  // 0: the journal holds no link message
    std::uint64_t seq = 0;    // the last one stored
};

/// The body of a recorder mark record: the next link message stored is `first_seq` of `epoch`.
[[nodiscard]] std::string encode_recorder_mark(std::uint64_t epoch, std::uint64_t first_seq);

/// Whether `rec` is a message the journal took from the recorder link (not a gap marker, a
/// recorder mark or a recorder_gap record, which the journal writes itself).
[[nodiscard]] bool is_link_record(const record& rec);

/// The position the journal in `dir` ends at: read from the last segment backwards, segment by
/// segment, until one holds a mark (or a recorder_gap record, which marks its first_seq).
/// Nullopt when no segment has any (a new journal, or one that never used the recorder link).
/// Throws std::runtime_error when the directory cannot be listed.
[[nodiscard]] std::optional<link_position> find_link_position(const std::string& dir);

}  // namespace tradebus::journal
