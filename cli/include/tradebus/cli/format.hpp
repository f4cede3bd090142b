// Human-readable output: one line per event (sniff, journal cat), fixed-point prices as
// decimals, times, sizes and durations. Everything here is pure: the caller decides where the
// text goes and which clock or time zone is used.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tradebus/schema/events.hpp"

namespace tradebus::cli {

struct line_options {
    bool utc = false;  // times in UTC instead of the local time zone
};

/// A fixed-point price or amount as a decimal (schema/types.hpp owns the rule).
using schema::format_fixed;

/// Wall-clock time of day with milliseconds, "14:03:22.123", local time or UTC.
[[nodiscard]] std::string format_time(std::int64_t ts_ns, bool utc);

/// Byte counts: "512 B", "1.5 KiB", "12.0 MiB", "3.2 GiB".
[[nodiscard]] std::string format_bytes(double bytes);

/// Durations: "850ms", "12.3s", "3m05s", "1h02m03s", "2d03h04m".
[[nodiscard]] std::string format_duration_ms(std::int64_t ms);

/// Makes arbitrary text safe for a one-line terminal display: control characters become
/// \n, \t, \xNN escapes and invalid UTF-8 bytes \xNN, so no input can break the line or
/// send escape sequences to the terminal.
[[nodiscard]] std::string printable(std::string_view text);

/// The payload's key fields, e.g. for a tick "AAPL bid 189.51 x 300  ask 189.53 x 200".
[[nodiscard]] std::string format_payload(const schema::payload& body);

/// One event: "<time> <topic> <src>#<seq> <payload>", no trailing newline.
[[nodiscard]] std::string format_line(std::string_view topic, const schema::event& ev,
                                      const line_options& opts);

/// A message that did not decode: "<time> <topic> UNDECODABLE <reason> [N bytes] <hex>", the
/// hex cut after 64 bytes ("..." marks the cut; --json shows every byte). `rx_ns` is when it
/// arrived (it has no trustworthy timestamp of its own).
[[nodiscard]] std::string format_undecodable_line(std::string_view topic, std::string_view body,
                                                  std::string_view reason, std::int64_t rx_ns,
                                                  const line_options& opts);

}  // namespace tradebus::cli
