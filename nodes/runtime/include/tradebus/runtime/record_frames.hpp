// A reply that carries journaled events (PROTOCOL.md "Record replies") over a socket: frame 0
// is a msgpack control message (the header, e.g. journal_query_ok with `count`), then pairs of
// [topic][body] frames holding the bytes exactly as they were published: no re-encoding, so a
// client decodes them like live events. The framing rule itself is schema/frame_pairs.hpp,
// shared with the broker's snapshot_ok.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <zmq.hpp>

#include "tradebus/schema/frame_pairs.hpp"

namespace tradebus::runtime {

/// One event: topic and raw msgpack body.
using record_pair = schema::frame_pair;

/// Sends `header` then every pair of `records` as one multipart message (after whatever
/// routing frames the caller already sent with sndmore). Never blocks.
void send_records(zmq::socket_t& socket, std::string_view header,
                  const std::vector<record_pair>& records);

/// A whole record reply as received.
struct record_reply {
    std::string header;
    std::vector<record_pair> records;
};

/// Receives one record reply (call when the socket is readable). nullopt, with `why` set,
/// when nothing was there or the frames do not form header + pairs (an odd count); the
/// message is drained either way.
std::optional<record_reply> receive_records(zmq::socket_t& socket, std::string& why);

}  // namespace tradebus::runtime
