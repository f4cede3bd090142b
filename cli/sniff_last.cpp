#include "tradebus/cli/sniff_last.hpp"

#include "tradebus/common/process.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/schema/codec.hpp"

namespace tradebus::cli {

last_values fetch_last_values(zmq::context_t& ctx, const std::string& control,
                              const std::vector<std::string>& prefixes,
                              std::chrono::milliseconds timeout, std::ostream& err) {
    last_values out{{}, runtime::late_join(prefixes)};
    runtime::control_client client(ctx, control, timeout);
    std::string request;
    while (auto req = out.merge.next_request()) {
        schema::encode_control(*req, request);
        auto frames = client.request_frames(request);
        if (!frames) {
            err << "tradebus sniff: --last: the broker at " << control << " did not answer within "
                << timeout.count() << " ms; following live messages only" << std::endl;
            out.merge.give_up();
            break;
        }
        const auto decoded = schema::decode_control(frames->front());
        const auto* header =
            decoded ? std::get_if<schema::snapshot_reply>(&decoded.value()) : nullptr;
        if (header == nullptr) {
            const auto* e = decoded ? std::get_if<schema::error_reply>(&decoded.value()) : nullptr;
            err << "tradebus sniff: --last: the broker gave no snapshot ("
                << (e != nullptr ? e->code + ": " + e->reason
                    : decoded    ? "reply " + std::string(schema::type_name(decoded.value()))
                                 : decoded.error().to_string())
                << "); following live messages only" << std::endl;
            out.merge.give_up();
            break;
        }
        if (!header->covered) {
            err << "tradebus sniff: --last: the broker keeps no last values under \"" << req->prefix
                << "\" (see its [lvc] prefixes); live messages only for it" << std::endl;
        }
        if (auto why = out.merge.on_reply(*header, *frames)) {
            err << "tradebus sniff: --last: malformed snapshot reply for \"" << req->prefix
                << "\": " << *why << std::endl;
        }
    }
    const std::int64_t now = common::now_ns();
    for (auto& item : out.merge.take_for_start()) {
        out.messages.push_back(bus_message{std::move(item.topic), std::move(item.body), 2, now});
    }
    if (out.merge.undecodable() > 0) {
        err << "tradebus sniff: --last: " << out.merge.undecodable()
            << " cached message(s) did not decode and are not shown" << std::endl;
    }
    return out;
}

void mark_cached(std::string& line, output_format format) {
    if (format == output_format::json) {
        if (!line.empty() && line.front() == '{') line.insert(1, "\"cached\":true,");
    } else {
        line.insert(0, "(cached) ");
    }
}

}  // namespace tradebus::cli
