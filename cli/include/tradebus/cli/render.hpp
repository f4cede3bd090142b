// One bus message -> one output line, in either format. Shared by `sniff` and, later,
// `journal cat`, so a recorded event prints exactly as it did live.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tradebus/cli/format.hpp"
#include "tradebus/schema/codec.hpp"

namespace tradebus::cli {

enum class output_format : unsigned char { lines, json };

/// A data-plane message as received: the topic frame and what followed it.
struct bus_message {
    std::string topic;
    std::string body;        // the frames after the topic, concatenated (normally exactly one)
    std::size_t frames = 0;  // frames received, topic included; the protocol says 2
    std::int64_t rx_ns = 0;  // wall-clock receive time (shown for undecodable messages)
};

/// The decoded event, or why it is not one: a frame count other than 2, or the codec's
/// decode_error (unknown type, missing key, ...).
[[nodiscard]] schema::result<schema::event> decode_message(const bus_message& m);

/// The message as one line of text without the newline: format_line / event_json for an
/// event, format_undecodable_line / undecodable_json (with the reason) otherwise.
[[nodiscard]] std::string render_message(const bus_message& m,
                                         const schema::result<schema::event>& decoded,
                                         output_format format, const line_options& opts);

}  // namespace tradebus::cli
