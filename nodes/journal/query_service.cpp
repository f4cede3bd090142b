#include "tradebus/journal/query_service.hpp"

#include <spdlog/spdlog.h>

#include <type_traits>
#include <variant>
#include <vector>

#include "tradebus/runtime/record_frames.hpp"
#include "tradebus/schema/codec.hpp"

namespace tradebus::journal {

namespace {
constexpr int requests_per_wakeup = 16;  // then back to live events

}  // namespace

query_service::query_service(zmq::context_t& ctx, const std::string& endpoint, std::string dir,
                             query_limits limits, flush_fn flush)
    : socket_(ctx, zmq::socket_type::router),
      dir_(std::move(dir)),
      limits_(limits),
      flush_(std::move(flush)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::router_mandatory, false);  // a vanished client: drop its reply
    socket_.bind(endpoint);
    bound_ = socket_.get(zmq::sockopt::last_endpoint);
}

void query_service::answer(const std::string& request, std::string& header,
                           std::vector<runtime::record_pair>& records) {
    auto refuse = [&](std::string_view code, std::string reason) {
        ++refused_;
        if (auto n = refused_log_.hit()) {
            spdlog::warn("journal: query refused: {}: {} ({} in last period)", code, reason, n);
        }
        schema::encode_control(schema::error_reply{std::string(code), std::move(reason)}, header);
    };
    // The same codes as the broker's control plane for the same failures (PROTOCOL.md
    // "Control plane: framing"): a bad `v` is unsupported_version, a `type` naming no control
    // message is unknown_type; a request meant for the broker is not_allowed here, as a
    // journal_query is there; a reply sent as a request is bad_request.
    auto decoded = schema::decode_control(request);
    if (!decoded) {
        refuse(schema::error_code_for(decoded.error()), decoded.error().to_string());
        return;
    }
    const auto* q = std::get_if<schema::journal_query>(&decoded.value());
    if (q == nullptr) {
        const std::string type(schema::type_name(decoded.value()));
        if (!schema::is_reply(decoded.value())) {
            refuse(schema::error_code::not_allowed,
                   "\"" + type +
                       "\" is answered by the broker's control endpoint, not the journal's "
                       "query endpoint (which answers journal_query)");
        } else {
            refuse(schema::error_code::bad_request, "\"" + type + "\" is a reply, not a request");
        }
        return;
    }
    if (auto why = check_query(*q); !why.empty()) {
        refuse(schema::error_code::bad_request, std::move(why));
        return;
    }
    std::string why;
    if (!flush_(why)) {
        refuse(schema::error_code::not_allowed, "journal cannot flush its buffer: " + why);
        return;
    }
    try {
        query_page page = read_page(dir_, *q, limits_);
        records = std::move(page.records);
        schema::encode_control(
            schema::journal_query_reply{records.size(), page.next_index, page.done}, header);
        ++answered_;
        spdlog::debug("journal: answered query from record {}: {} record(s), next {}{}",
                      q->from_index, records.size(), page.next_index, page.done ? ", done" : "");
    } catch (const std::exception& e) {
        records.clear();
        refuse(schema::error_code::not_allowed, e.what());
    }
}

void query_service::on_readable() {
    for (int k = 0; k < requests_per_wakeup; ++k) {
        // ROUTER: [routing id...][empty delimiter (REQ)][request]
        std::vector<zmq::message_t> envelope;
        zmq::message_t frame;
        if (!socket_.recv(frame, zmq::recv_flags::dontwait)) return;
        bool more = frame.more();
        std::optional<std::string> request;
        envelope.push_back(std::move(frame));
        while (more) {
            zmq::message_t next;
            if (!socket_.recv(next, zmq::recv_flags::dontwait)) break;
            more = next.more();
            if (!request && envelope.back().size() == 0 && envelope.size() >= 2) {
                request = next.to_string();
            } else if (!request) {
                envelope.push_back(std::move(next));
            }  // frames after the request: ignored
        }
        if (!request) {
            ++refused_;
            continue;  // no delimiter: not a REQ/DEALER-with-envelope peer; nothing to answer
        }
        std::string header;
        std::vector<runtime::record_pair> records;
        answer(*request, header, records);
        for (auto& f : envelope) {
            socket_.send(f, zmq::send_flags::sndmore | zmq::send_flags::dontwait);
        }
        runtime::send_records(socket_, header, records);
    }
}

}  // namespace tradebus::journal
