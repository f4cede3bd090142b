// The web node's logic and its [web] table (web_node.hpp).
#include "tradebus/web/web_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "tradebus/schema/codec.hpp"
#include "tradebus/web/assets.hpp"

namespace tradebus::web {

namespace http = common::http;

namespace {

constexpr std::int64_t second_ns = 1'000'000'000;
// How often the server's deadlines (request and write timeouts) are checked, ns.
constexpr std::int64_t server_timers_ns = 250'000'000;
// Search terms longer than this are cut (a topic is at most 255 bytes).
constexpr std::size_t max_query_bytes = 255;

// On every answer: nothing cached, nothing sniffed, nothing loaded from elsewhere, not framed.
constexpr std::string_view common_headers =
    "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
    "Content-Security-Policy: default-src 'self'; frame-ancestors 'none'\r\n";

http_answer plain(int code, std::string body) {
    return {code, "text/plain; charset=utf-8", std::move(body), false, std::string(common_headers)};
}

http_answer asset(std::string_view type, std::string_view body) {
    return {200, std::string(type), std::string(body), false, std::string(common_headers)};
}

}  // namespace

web_config load_web_config(common::section& own) {
    web_config c;
    c.listen = own.string("listen", c.listen);
    if (auto why = http::listen_endpoint_error(c.listen)) own.error("listen", *why);
    c.max_clients = own.integer("max_clients", c.max_clients, 1, 1024);
    c.update_interval_ms = own.integer("update_interval_ms", c.update_interval_ms, 50, 60'000);
    c.client_buffer_bytes =
        own.integer("client_buffer_bytes", c.client_buffer_bytes, 65'536, 268'435'456);
    c.top_topics = own.integer("top_topics", c.top_topics, 1, 1000);
    c.max_topics = own.integer("max_topics", c.max_topics, 1, 1'000'000);
    if (c.top_topics > c.max_topics) {
        own.error("top_topics", "expected at most max_topics (" + std::to_string(c.max_topics) +
                                    "), got " + std::to_string(c.top_topics));
    }
    return c;
}

web_node::web_node(web_config cfg)
    : cfg_(std::move(cfg)),
      state_(desk_limits{.max_topics = static_cast<std::size_t>(cfg_.max_topics)}) {}

void web_node::on_start(runtime::context& ctx) {
    ctx_ = &ctx;
    http_limits limits;
    limits.max_clients = static_cast<std::size_t>(cfg_.max_clients);
    limits.client_buffer_bytes = static_cast<std::size_t>(cfg_.client_buffer_bytes);
    server_ = std::make_unique<http_server>(
        limits, [this](const http::request& r) { return answer(r, ctx_->now_ns()); });
    std::string error;
    if (!server_->start(ctx, cfg_.listen, error)) {
        throw std::runtime_error("cannot serve the web page at " + cfg_.listen + ": " + error);
    }
    spdlog::info("web: serving the desk at http://{}/ (max_clients {}, update every {} ms)",
                 cfg_.listen.substr(6), cfg_.max_clients, cfg_.update_interval_ms);
}

void web_node::on_event(runtime::context& /*ctx*/, const runtime::inbound& in) {
    if (counting_) state_.count(in.topic, in.raw.size());
    state_.on_event(in.topic, in.ev);
    // A halt or resume (of the desk, a scope, or risk's own) goes to the pages at once.
    if (std::holds_alternative<schema::trading_state_changed>(in.ev.body)) urgent_ = true;
}

void web_node::on_undecodable(runtime::context& /*ctx*/, std::string_view topic,
                              std::string_view raw, const schema::decode_error& /*why*/) {
    if (counting_) state_.count(topic, raw.size());
}

void web_node::on_misrouted(runtime::context& /*ctx*/, const runtime::inbound& in) {
    if (counting_) state_.count(in.topic, in.raw.size());
}

void web_node::on_drained(runtime::context& ctx) {
    if (urgent_) push(ctx);
}

std::int64_t web_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (!counting_) {
        // The first timer comes after on_start and the broker's cached last values: from here
        // on, what arrives is traffic.
        counting_ = true;
        next_second_ns_ = now_ns + second_ns;
        next_push_ns_ = now_ns;
    }
    if (now_ns >= next_second_ns_) {
        state_.tick(now_ns);
        next_second_ns_ = std::max(next_second_ns_ + second_ns, now_ns + 1);
    }
    if (now_ns >= next_push_ns_) {
        ask_status(ctx);
        push(ctx);
        next_push_ns_ = now_ns + cfg_.update_interval_ms * 1'000'000;
    }
    if (server_) server_->run_timers(ctx.mono_ms());
    return std::min({next_second_ns_, next_push_ns_, now_ns + server_timers_ns});
}

void web_node::on_stop(runtime::context& /*ctx*/) {
    if (server_) server_->stop();
}

void web_node::ask_status(runtime::context& ctx) {
    if (status_in_flight_) return;
    std::string request;
    schema::encode_control(schema::status_request{.max_topics = 0}, request);
    status_in_flight_ =
        ctx.send_control(std::move(request), [this, &ctx](const schema::control_message* reply) {
            status_in_flight_ = false;
            if (reply == nullptr) {
                state_.on_status_failed("the broker did not answer the status request");
            } else if (const auto* s = std::get_if<schema::status_reply>(reply)) {
                state_.on_status(*s, ctx.now_ns());
            } else if (const auto* e = std::get_if<schema::error_reply>(reply)) {
                state_.on_status_failed("status refused: " + e->code + ": " + e->reason);
            } else {
                state_.on_status_failed("unexpected reply to status: " +
                                        std::string(schema::type_name(*reply)));
            }
        });
}

void web_node::push(runtime::context& ctx) {
    urgent_ = false;
    if (!server_ || server_->streams() == 0) return;
    server_->broadcast(std::make_shared<const std::string>(sse_frame(
        "state", state_.state_json(static_cast<std::size_t>(cfg_.top_topics), ctx.now_ns()))));
}

http_answer web_node::answer(const http::request& req, std::int64_t now_ns) const {
    if (req.method != "GET" && req.method != "HEAD") {
        http_answer a = plain(405, "only GET and HEAD are served\n");
        a.extra_headers += "Allow: GET, HEAD\r\n";
        return a;
    }
    if (req.path == "/" || req.path == "/index.html") {
        return asset("text/html; charset=utf-8", assets::index_html);
    }
    if (req.path == "/app.js") return asset("text/javascript; charset=utf-8", assets::app_js);
    if (req.path == "/app.css") return asset("text/css; charset=utf-8", assets::app_css);
    const auto top = static_cast<std::size_t>(cfg_.top_topics);
    if (req.path == "/state") {
        return asset("application/json", state_.state_json(top, now_ns));
    }
    if (req.path == "/topics") {
        return asset("application/json",
                     state_.search_json(http::query_value(req.query, "q", max_query_bytes)));
    }
    if (req.path == "/events") {
        http_answer a =
            asset("text/event-stream; charset=utf-8",
                  "retry: 1000\n\n" + sse_frame("state", state_.state_json(top, now_ns)));
        a.stream = req.method == "GET";
        return a;
    }
    return plain(404, "not found: the desk is at /\n");
}

std::unique_ptr<runtime::node_logic> make_web(common::section& own) {
    return std::make_unique<web_node>(load_web_config(own));
}

}  // namespace tradebus::web
