// Multipart control replies that carry data-plane messages as they are: one header frame (a
// control message saying how many pairs follow) and then `count` pairs of frames
// [topic][body], the body being the publisher's msgpack bytes, never re-encoded. snapshot_ok
// uses it (PROTOCOL.md "snapshot_ok"); kept apart so other record-carrying replies can share it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tradebus::schema {

/// One data-plane message carried in a multipart reply.
struct frame_pair {
    std::string topic;
    std::string body;
};

/// Splits `frames` (a whole reply: the header frame first) into the `count` pairs the header
/// announced, appended to `out`. Returns why not when the number of frames is not exactly
/// 1 + 2 x count (a truncated or padded reply); `out` is unchanged then.
[[nodiscard]] std::optional<std::string> split_frame_pairs(std::vector<std::string>& frames,
                                                           std::uint64_t count,
                                                           std::vector<frame_pair>& out);

}  // namespace tradebus::schema
