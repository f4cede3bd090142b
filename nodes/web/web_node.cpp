// The web node's logic and its [web] table (web_node.hpp).
#include "tradebus/web/web_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "tradebus/common/process.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/web/assets.hpp"
#include "tradebus/web/json_out.hpp"

namespace tradebus::web {

namespace http = common::http;

namespace {

constexpr std::int64_t second_ns = 1'000'000'000;
// How often the server's deadlines (request and write timeouts) are checked, ns.
constexpr std::int64_t server_timers_ns = 250'000'000;
// Search terms longer than this are cut (a topic is at most 255 bytes).
constexpr std::size_t max_query_bytes = 255;
// Operator actions waiting for the control socket, at most (a further one gets 503).
constexpr std::size_t max_waiting_actions = 8;
// A waiting action not sent within this is dropped, never sent late: its client gets 503
// (before the server's own 15 s answer timeout would give it 504).
constexpr std::int64_t send_within_ns = 10'000'000'000;

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

// An operator action's answer: {"ok":..,"action":{the log entry}} or {"ok":false,"error":..}.
http_answer action_json(int code, const std::string& inner) {
    return {code, "application/json",
            "{\"ok\":" + std::string(code == 200 ? "true" : "false") + "," + inner + "}", false,
            std::string(common_headers)};
}
http_answer action_error(int code, std::string_view why) {
    std::string inner;
    json::str(inner, "error", why);
    return action_json(code, inner);
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
    c.actions = own.boolean("actions", c.actions);
    c.tokens_file = own.string("tokens_file", c.tokens_file);
    if (c.actions) {
        std::string error;
        if (c.tokens_file.empty()) {
            own.error("tokens_file",
                      "expected the path of the operators' tokens file with actions = true");
        } else if (auto ops = load_tokens(c.tokens_file, error)) {
            c.operators = std::move(*ops);
        } else {
            own.error("tokens_file", error);
        }
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
    server_ =
        std::make_unique<http_server>(limits, [this](const http::request& r, std::uint64_t ticket) {
            return answer(r, ctx_->now_ns(), ticket);
        });
    std::string error;
    if (!server_->start(ctx, cfg_.listen, error)) {
        throw std::runtime_error("cannot serve the web page at " + cfg_.listen + ": " + error);
    }
    spdlog::info("web: serving the desk at http://{}/ (max_clients {}, update every {} ms)",
                 cfg_.listen.substr(6), cfg_.max_clients, cfg_.update_interval_ms);
    if (cfg_.actions) {
        spdlog::warn(
            "web: operator actions are ON: {} operator(s) in {} may halt, resume, "
            "flatten and cancel from the page",
            cfg_.operators.size(), cfg_.tokens_file);
    }
}

void web_node::on_event(runtime::context& /*ctx*/, const runtime::inbound& in) {
    if (counting_) state_.count(in.topic, in.raw.size());
    state_.on_event(in.topic, in.ev);
    // A halt or resume (of the desk, a scope, or risk's own) goes to the pages at once, as does
    // execution's answer to an action taken on the page.
    if (std::holds_alternative<schema::trading_state_changed>(in.ev.body)) urgent_ = true;
    if (cfg_.actions && log_.on_event(in.ev)) urgent_ = true;
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
    ctx_ = &ctx;  // the one context the node runs in (set by on_start already when live)
    status_wanted_ = true;
    pump();
}

void web_node::pump() {
    if (control_busy_ || ctx_ == nullptr) return;
    const std::int64_t now = ctx_->now_ns();
    // Actions not sent in time are dropped, never sent late.
    while (!actions_waiting_.empty() && actions_waiting_.front().send_by_ns < now) {
        auto late = std::move(actions_waiting_.front());
        actions_waiting_.pop_front();
        late.done(nullptr, false);
    }
    control_job job;
    if (!actions_waiting_.empty()) {
        job = std::move(actions_waiting_.front());
        actions_waiting_.pop_front();
    } else if (status_wanted_) {
        status_wanted_ = false;
        schema::encode_control(schema::status_request{.max_topics = 0}, job.request);
        job.done = [this](const schema::control_message* reply, bool /*sent*/) {
            if (reply == nullptr) {
                state_.on_status_failed("the broker did not answer the status request");
            } else if (const auto* s = std::get_if<schema::status_reply>(reply)) {
                state_.on_status(*s, ctx_->now_ns());
            } else if (const auto* e = std::get_if<schema::error_reply>(reply)) {
                state_.on_status_failed("status refused: " + e->code + ": " + e->reason);
            } else {
                state_.on_status_failed("unexpected reply to status: " +
                                        std::string(schema::type_name(*reply)));
            }
        };
    } else {
        return;
    }
    auto done = std::move(job.done);
    control_busy_ = ctx_->send_control(std::move(job.request),
                                       [this, done](const schema::control_message* reply) {
                                           control_busy_ = false;
                                           done(reply, true);
                                           pump();
                                       });
    if (!control_busy_) done(nullptr, false);  // the runtime holds another request: not ours
}

void web_node::push(runtime::context& ctx) {
    urgent_ = false;
    if (!server_ || server_->streams() == 0) return;
    server_->broadcast(std::make_shared<const std::string>(sse_frame(
        "state",
        state_.state_json(static_cast<std::size_t>(cfg_.top_topics), ctx.now_ns(), extra_json()))));
}

std::string web_node::extra_json() const {
    std::string o = "\"actions\":{";
    json::boolean(o, "enabled", cfg_.actions);
    json::key(o, "log");
    log_.append_json(o);
    o += '}';
    return o;
}

http_answer web_node::answer(const http::request& req, std::int64_t now_ns, std::uint64_t ticket) {
    if (req.path.starts_with("/actions/")) return act(req, req.path.substr(9), now_ns, ticket);
    if (req.method != "GET" && req.method != "HEAD") {
        http_answer a = plain(405,
                              "only GET and HEAD are served here (operator actions: POST "
                              "/actions/<verb>)\n");
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
        return asset("application/json", state_.state_json(top, now_ns, extra_json()));
    }
    if (req.path == "/topics") {
        return asset("application/json",
                     state_.search_json(http::query_value(req.query, "q", max_query_bytes)));
    }
    if (req.path == "/events") {
        http_answer a = asset(
            "text/event-stream; charset=utf-8",
            "retry: 1000\n\n" + sse_frame("state", state_.state_json(top, now_ns, extra_json())));
        a.stream = req.method == "GET";
        return a;
    }
    return plain(404, "not found: the desk is at /\n");
}

http_answer web_node::act(const http::request& req, std::string_view verb, std::int64_t now_ns,
                          std::uint64_t ticket) {
    if (req.method != "POST") {
        http_answer a = action_error(405, "an operator action is a POST");
        a.extra_headers += "Allow: POST\r\n";
        return a;
    }
    if (!cfg_.actions) {
        return action_error(403, "operator actions are off on this page ([web] actions = false)");
    }
    const auto who = authenticate(cfg_.operators, http::header(req, "Authorization"));
    if (!who) {
        if (const auto k = auth_warn_.hit()) {
            spdlog::warn("web: refused an operator action without a valid token ({} in last 1s)",
                         k);
        }
        http_answer a = action_error(
            401, "expected an Authorization: Bearer <token> header with an operator's token");
        a.extra_headers += "WWW-Authenticate: Bearer realm=\"tradebus\"\r\n";
        return a;
    }
    const auto type = http::header(req, "Content-Type");
    if (!req.body.empty() && (!type || !type->starts_with("application/x-www-form-urlencoded"))) {
        return action_error(415,
                            "expected a form body (Content-Type: "
                            "application/x-www-form-urlencoded)");
    }
    std::string error;
    auto action = parse_action(verb, req.body, *who + " via web", common::random_id(), error);
    if (!action) {
        const bool known = std::ranges::find(action_verbs, verb) != std::end(action_verbs);
        return action_error(known ? 400 : 404, error);  // a bad form, or no such action
    }
    if (actions_waiting_.size() >= max_waiting_actions) {
        return action_error(503,
                            "too many operator actions wait for the broker; nothing was "
                            "sent: try again");
    }
    if (ctx_ == nullptr || ctx_->session_id() == 0) {
        return action_error(503, "the node is not registered with the broker; nothing was sent");
    }
    const std::uint64_t id = log_.add(now_ns, *who + " via web", action->what, action->request_id);
    spdlog::warn("web: {} asks: {}", *who, action->what);
    control_job job;
    schema::encode_control(action->request, job.request);
    job.send_by_ns = now_ns + send_within_ns;
    job.done = [this, id, ticket](const schema::control_message* reply, bool sent) {
        const action_log::entry* e = sent ? log_.on_reply(id, reply) : log_.on_not_sent(id);
        urgent_ = true;
        int code = 200;
        std::string inner;
        if (e != nullptr) {
            spdlog::log(e->st == action_log::status::done || e->st == action_log::status::accepted
                            ? spdlog::level::info
                            : spdlog::level::warn,
                        "web: {}: {}: {}: {}", e->by, e->what, to_string(e->st), e->detail);
            const auto* err = reply != nullptr ? std::get_if<schema::error_reply>(reply) : nullptr;
            if (!sent) {
                code = 503;
            } else if (e->st == action_log::status::unknown) {
                code = 504;
            } else if (e->st == action_log::status::refused) {
                code = err != nullptr && err->code == schema::error_code::bad_request   ? 400
                       : err != nullptr && err->code == schema::error_code::not_allowed ? 403
                                                                                        : 409;
            }
            json::key(inner, "action");
            action_log::append_entry_json(inner, *e);
        } else {  // pushed out of the log by newer actions meanwhile
            code = reply != nullptr && std::holds_alternative<schema::ok_reply>(*reply) ? 200 : 409;
            json::str(inner, "error", "see the trading state and the journal");
        }
        if (server_) (void)server_->answer_later(ticket, action_json(code, inner));
    };
    actions_waiting_.push_back(std::move(job));
    pump();
    http_answer a;
    a.deferred = true;
    return a;
}

std::unique_ptr<runtime::node_logic> make_web(common::section& own) {
    return std::make_unique<web_node>(load_web_config(own));
}

}  // namespace tradebus::web
