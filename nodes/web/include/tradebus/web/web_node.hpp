// The web node (tradebus-web): one live page of the desk for a browser, served by the node
// itself over HTTP (http_server) from what it receives on the bus (every topic: desk_state)
// and the broker's status (a status request of its own every update interval). The page
// (index.html, app.js, app.css, compiled in) opens an event stream (/events) and gets the whole
// state at once, then again every update interval. Read-only: it publishes nothing and no node
// depends on it, so trading never waits for it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tradebus/common/config.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/web/desk_state.hpp"
#include "tradebus/web/http_server.hpp"

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

    /// The answer to one request (what the server calls; tests call it directly).
    http_answer answer(const common::http::request& req, std::int64_t now_ns) const;
    [[nodiscard]] const desk_state& state() const noexcept { return state_; }

  private:
    void push(runtime::context& ctx);
    void ask_status(runtime::context& ctx);

    web_config cfg_;
    desk_state state_;
    std::unique_ptr<http_server> server_;
    runtime::context* ctx_ = nullptr;
    bool counting_ =
        false;  // false until the first timer: the broker's cached values are not traffic
    bool urgent_ = false;  // a trading state changed: push at the end of this loop turn
    bool status_in_flight_ = false;
    std::int64_t next_second_ns_ = 0, next_push_ns_ = 0;
};

/// The logic_factory handed to runtime::run_node for kind "web".
std::unique_ptr<runtime::node_logic> make_web(common::section& own);

}  // namespace tradebus::web
