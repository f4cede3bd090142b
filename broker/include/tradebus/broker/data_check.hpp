// The per-message check on the forwarding hot path (xsub -> xpub): frame count, topic bytes and
// body size, with the reason a message is dropped. Cheap by design: one pass over the topic
// bytes (at most 255) with a lookup table, no allocation, no msgpack decoding: the broker
// forwards bodies unread, subscribers validate them (PROTOCOL.md "Broker behaviour").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tradebus::broker {

/// Why a data-plane message (or a subscription frame) was dropped. Names are the wire strings
/// of status_reply.drops[].reason.
enum class drop_reason : std::uint8_t {
    frame_count,       // not exactly 2 frames [topic][body]
    empty,             // a zero-length topic or body frame
    topic_length,      // topic longer than 255 bytes
    topic_utf8,        // topic not well-formed UTF-8
    topic_chars,       // topic holds a space, a control character or a wildcard ('*', '>')
    oversized,         // body larger than [data] max_message_bytes
    reserved_topic,    // a sys. topic other than sys.probe.<node>: only the broker publishes there
    bad_subscription,  // an XPUB frame that is not \x01prefix / \x00prefix (prefix <= 255 B)
    would_block,       // a send returned EAGAIN (not expected: XPUB drops silently at HWM)
    acl,               // CURVE on: the sender may not publish this topic ([[security.client]])
    unknown_key,       // CURVE on: a handshake refused, key not listed (counts attempts)
    subscription_limit,  // a subscribe beyond [data] max_subscriptions distinct prefixes
};
inline constexpr std::size_t drop_reason_count = 12;

inline constexpr std::array<std::string_view, drop_reason_count> drop_reason_names{
    "frame_count", "empty",     "topic_length",   "topic_utf8",
    "topic_chars", "oversized", "reserved_topic", "bad_subscription",
    "would_block", "acl",       "unknown_key",    "subscription_limit"};

[[nodiscard]] constexpr std::string_view to_string(drop_reason r) noexcept {
    return drop_reason_names[static_cast<std::size_t>(r)];
}

/// A sentence for the rate-limited warning: "topic is not valid UTF-8".
[[nodiscard]] std::string_view describe(drop_reason r) noexcept;

/// Checks a topic frame: nullopt when it may be forwarded. Same byte rules as
/// schema::topics::topic_error (1..255 bytes of UTF-8 without spaces, control characters or
/// wildcards) minus the dot-structure rules, which are not worth a hot-path pass.
[[nodiscard]] std::optional<drop_reason> check_topic(std::string_view topic) noexcept;

/// True for topics only the broker may publish: sys.* except sys.probe.* (a node's probe of
/// its own data path). Forwarding a node's sys.trading would let it halt the desk.
[[nodiscard]] constexpr bool reserved_topic(std::string_view topic) noexcept {
    return topic.starts_with("sys.") && !topic.starts_with("sys.probe.");
}

/// Checks a whole [topic][body] message once the frame count is known to be 2.
[[nodiscard]] inline std::optional<drop_reason> check_message(std::string_view topic,
                                                              std::size_t body_bytes,
                                                              std::size_t max_body) noexcept {
    if (body_bytes == 0) return drop_reason::empty;
    if (body_bytes > max_body) return drop_reason::oversized;
    if (auto why = check_topic(topic)) return why;
    if (reserved_topic(topic)) return drop_reason::reserved_topic;
    return std::nullopt;
}

}  // namespace tradebus::broker
