// The framing of every reply that carries data-plane messages as they are (PROTOCOL.md
// "snapshot_ok" and "Record replies"): one header frame (a control message, e.g. snapshot_ok or
// journal_query_ok, saying how many pairs follow) and then pairs of frames [topic][body], the
// body being the publisher's msgpack bytes, never re-encoded. The one owner of that rule: the
// broker's snapshot, the journal's query service and every client that reads them use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tradebus::schema {

/// One data-plane message carried in a multipart reply.
struct frame_pair {
    std::string topic;
    std::string body;
};

/// Splits `frames` (a whole reply: the header frame first) into its pairs, appended to `out`.
/// Returns why not when the frames after the header do not form pairs (an odd number), or,
/// with `count`, are not exactly the `count` pairs the header announced (a truncated or
/// padded reply); `out` is unchanged then.
[[nodiscard]] std::optional<std::string> split_frame_pairs(std::vector<std::string>& frames,
                                                           std::optional<std::uint64_t> count,
                                                           std::vector<frame_pair>& out);

/// Writes a reply in this framing: `send(frame, more)` for the header and then for each
/// pair's topic and body, `more` false only on the last frame. `pairs` holds elements with
/// `.first`/`.second` or `.topic`/`.body` (string or string_view).
template <class Pairs, class Send>
void write_frame_pairs(std::string_view header, const Pairs& pairs, Send&& send) {
    send(header, !pairs.empty());
    std::size_t left = pairs.size();
    for (const auto& p : pairs) {
        --left;
        if constexpr (requires { p.topic; }) {
            send(std::string_view(p.topic), true);
            send(std::string_view(p.body), left != 0);
        } else {
            send(std::string_view(p.first), true);
            send(std::string_view(p.second), left != 0);
        }
    }
}

}  // namespace tradebus::schema
