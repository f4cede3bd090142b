// The web node (tradebus-web): one live page of the desk for a browser, served by the node
// itself over HTTP (http_server) from what it receives on the bus (every topic: desk_state)
// and the broker's status (a status request of its own every update interval). The page
// (index.html, app.js, app.css, compiled in) opens an event stream (/events) and gets the whole
// state at once, then again every update interval. It publishes nothing and no node depends on
// it, so trading never waits for it. With [web] actions = true an operator holding a token may
// also halt, resume, flatten and cancel from the page (operator_actions.hpp): the node sends the
// CLI's control requests to the broker, one at a time, before its own status requests.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/web/desk_state.hpp"
#include "tradebus/web/http_server.hpp"
#include "tradebus/web/operator_actions.hpp"

namespace tradebus::web {

/// The [web] table. Defaults here, once.
struct web_config {
    /// Where the page is served: loopback, a port nothing else in config/ uses.
    std::string listen = "tcp://127.0.0.1:8470";
    /// Open HTTP connections at most (event streams and requests together).
    std::int64_t max_clients = 16;
    /// How often the page gets the state and the broker is asked its status, ms.
    std::int64_t update_interval_ms = 500;
    /// Unsent bytes one event stream may hold before the client is dropped (it reconnects).
    std::int64_t client_buffer_bytes = 1 << 20;
    /// Busiest topics on the page (the search box finds the others).
    std::int64_t top_topics = 20;
    /// Topics counted one by one (about 350 bytes each, with their minute of history);
    /// messages on further topics count under *other*. As the broker's max_topics_tracked, so
    /// the search finds every topic the broker counts.
    std::int64_t max_topics = 100'000;
    /// Operator actions on the page (halt, resume, flatten, cancel): off unless true.
    bool actions = false;
    /// With actions: the file of operators and their tokens (load_tokens), and what it held.
    std::string tokens_file;
    std::vector<operator_token> operators;
};

/// Reads [web] through `own`'s getters (every problem recorded in `own`).
web_config load_web_config(common::section& own);

class web_node final : public runtime::node_logic {
  public:
    explicit web_node(web_config cfg);

    [[nodiscard]] std::vector<std::string> subscriptions() const override { return {""}; }
    [[nodiscard]] std::vector<std::string> publications() const override { return {}; }

    void on_start(runtime::context& ctx) override;
    void on_event(runtime::context& ctx, const runtime::inbound& in) override;
    void on_undecodable(runtime::context& ctx, std::string_view topic, std::string_view raw,
                        const schema::decode_error& why) override;
    void on_misrouted(runtime::context& ctx, const runtime::inbound& in) override;
    void on_drained(runtime::context& ctx) override;
    std::int64_t on_timer(runtime::context& ctx, std::int64_t now_ns) override;
    void on_stop(runtime::context& ctx) override;

    /// The answer to one request (what the server calls, with the request's ticket; tests
    /// call it directly). An operator action is answered later (deferred), once the broker
    /// replied.
    http_answer answer(const common::http::request& req, std::int64_t now_ns,
                       std::uint64_t ticket = 0);
    [[nodiscard]] const desk_state& state() const noexcept { return state_; }
    [[nodiscard]] const action_log& actions() const noexcept { return log_; }

  private:
    // A control request of the node's own, waiting for the control socket.
    struct control_job {
        std::string request;
        /// The reply (nullptr: none came), or sent = false: dropped before it was sent.
        std::function<void(const schema::control_message*, bool sent)> done;
        std::int64_t send_by_ns = 0;  // dropped, never sent, when not sent by then
    };
    http_answer act(const common::http::request& req, std::string_view verb, std::int64_t now_ns,
                    std::uint64_t ticket);
    void push(runtime::context& ctx);
    void ask_status(runtime::context& ctx);
    /// Hands the next job to the runtime when none of ours is in flight: actions first.
    void pump();
    [[nodiscard]] std::string extra_json() const;

    web_config cfg_;
    desk_state state_;
    std::unique_ptr<http_server> server_;
    runtime::context* ctx_ = nullptr;
    bool counting_ =
        false;  // false until the first timer: the broker's cached values are not traffic
    bool urgent_ = false;         // a trading state changed: push at the end of this loop turn
    bool status_wanted_ = false;  // a status request waits for the control socket
    bool control_busy_ = false;   // a request of ours is with the runtime
    std::deque<control_job> actions_waiting_;
    action_log log_;
    common::rate_limited auth_warn_;
    std::int64_t next_second_ns_ = 0, next_push_ns_ = 0;
};

/// The logic_factory handed to runtime::run_node for kind "web".
std::unique_ptr<runtime::node_logic> make_web(common::section& own);

}  // namespace tradebus::web
