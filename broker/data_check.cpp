#include "tradebus/broker/data_check.hpp"

#include "tradebus/schema/topics.hpp"
#include "tradebus/schema/utf8.hpp"

namespace tradebus::broker {

namespace {

// Byte classes for the topic scan: 0 = printable ASCII allowed in a topic, 1 = never allowed
// (space, control, DEL, '*', '>'), 2 = the lead byte of a multi-byte UTF-8 sequence or a stray
// continuation byte, left to the UTF-8 decoder.
constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> c{};
    for (std::size_t i = 0; i < 256; ++i) {
        if (i <= 0x20 || i == 0x7f || i == '*' || i == '>') {
            c[i] = 1;
        } else if (i >= 0x80) {
            c[i] = 2;
        }
    }
    return c;
}
constexpr auto byte_class = make_classes();

}  // namespace

std::string_view describe(drop_reason r) noexcept {
    switch (r) {
        case drop_reason::frame_count:
            return "not exactly 2 frames [topic][body]";
        case drop_reason::empty:
            return "empty topic or body frame";
        case drop_reason::topic_length:
            return "topic longer than 255 bytes";
        case drop_reason::topic_utf8:
            return "topic is not valid UTF-8";
        case drop_reason::topic_chars:
            return "topic holds a space, control character or wildcard";
        case drop_reason::oversized:
            return "body larger than max_message_bytes";
        case drop_reason::reserved_topic:
            return "sys. topic other than sys.probe.<node> (only the broker publishes there)";
        case drop_reason::bad_subscription:
            return "frame is not a subscription (\\x01prefix) or unsubscription (\\x00prefix)";
        case drop_reason::would_block:
            return "send would block";
        case drop_reason::acl:
            return "topic outside the sender's publish prefixes ([[security.client]] publish)";
        case drop_reason::unknown_key:
            return "CURVE handshake refused: public key not in [[security.client]]";
        case drop_reason::subscription_limit:
            return "subscription not passed to publishers: [data] max_subscriptions distinct "
                   "prefixes already subscribed";
    }
    return "unknown";
}

std::optional<drop_reason> check_topic(std::string_view topic) noexcept {
    if (topic.empty()) return drop_reason::empty;
    if (topic.size() > schema::topics::max_topic_bytes) return drop_reason::topic_length;
    std::size_t i = 0;
    while (i < topic.size()) {
        const auto cls = byte_class[static_cast<std::uint8_t>(topic[i])];
        if (cls == 0) {
            ++i;
        } else if (cls == 1) {
            return drop_reason::topic_chars;
        } else {
            const std::size_t n = schema::utf8_sequence(topic, i);
            if (n == 0) return drop_reason::topic_utf8;
            i += n;
        }
    }
    return std::nullopt;
}

}  // namespace tradebus::broker
