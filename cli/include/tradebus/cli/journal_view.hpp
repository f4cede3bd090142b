// `tradebus journal`: the pure parts (time arguments, record lines, the verify report) on top
// of the journal's reader (nodes/journal, tradebus::journal). Records print exactly as `sniff`
// prints live messages; the journal's own gap markers get a line of their own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tradebus/cli/render.hpp"
#include "tradebus/journal/reader.hpp"

namespace tradebus::cli {

/// Parses a --since/--until argument into ns since the Unix epoch, or nullopt:
///   2024-05-01, 2024-05-01T14:03[:22[.123]], "2024-05-01 14:03:22"   local time (UTC with
///                                                  `utc`, or with a trailing Z)
///   14:03[:22[.123]]                               that time today
///   -90s, -10m, -2h, -1d                           that long before `now_ns`
///   @1700000000[.5]                                seconds since the epoch
///   now
[[nodiscard]] std::optional<std::int64_t> parse_time(std::string_view text, std::int64_t now_ns,
                                                     bool utc);

/// One journal record as a line (no newline): an event or undecodable message as sniff shows
/// it, or for a gap marker "<time> <topic> JOURNAL GAP <src> lost N (expected seq E, got G)"
/// / {"topic":..,"type":"journal_gap","kind":..,"src":..,"expected_seq":..,"got_seq":..,
/// "missing":..,"recv_ts_ns":..} (a broker_restart marker adds "old_epoch","new_epoch").
/// `rec.recv_ts_ns` stands in as the receive time.
[[nodiscard]] std::string render_record(const journal::record& rec, output_format format,
                                        const line_options& opts);

/// A journal gap marker's fields (FORMAT.md "Gap markers").
struct gap_fields {
    std::string kind, src, topic;
    std::uint64_t expected_seq = 0, got_seq = 0, missing = 0;
    std::uint64_t old_epoch = 0, new_epoch = 0;  // kind "broker_restart"
};

/// Decodes a gap marker's body; nullopt when it is not a readable journal_gap map.
[[nodiscard]] std::optional<gap_fields> decode_gap(std::string_view body);

/// The verify report: one "<segment>:<offset>: <reason> (N bytes)" line per problem, then a
/// summary line ("clean" or "N problems"). Ends with '\n'.
[[nodiscard]] std::string format_verify(const journal::verify_report& report, std::string_view dir);

/// The same as one JSON object: {"dir","segments","records","bytes","clean","problems":[..]}.
[[nodiscard]] std::string verify_json(const journal::verify_report& report, std::string_view dir);

}  // namespace tradebus::cli
