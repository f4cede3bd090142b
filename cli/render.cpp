// Decode-or-flag and pick the output format (render.hpp).
#include "tradebus/cli/render.hpp"

#include "tradebus/cli/json.hpp"

namespace tradebus::cli {

schema::result<schema::event> decode_message(const bus_message& m) {
    if (m.frames != 2) {
        return schema::decode_error{"", std::to_string(m.frames) + " frame" +
                                            (m.frames == 1 ? "" : "s") +
                                            ", expected 2 (topic, body)"};
    }
    return schema::decode_event(m.body);
}

std::string render_message(const bus_message& m, const schema::result<schema::event>& decoded,
                           output_format format, const line_options& opts) {
    if (decoded) {
        return format == output_format::json ? event_json(m.topic, decoded.value())
                                             : format_line(m.topic, decoded.value(), opts);
    }
    const std::string reason = decoded.error().to_string();
    return format == output_format::json
               ? undecodable_json(m.topic, m.body, m.frames, reason, m.rx_ns)
               : format_undecodable_line(m.topic, m.body, reason, m.rx_ns, opts);
}

}  // namespace tradebus::cli
