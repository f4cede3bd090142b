// A runtime::context test double for node-logic unit tests: records what the logic publishes
// (topic, event with the envelope the runtime would set), hands out predictable trace ids, and
// lets the test set the clock. Anonymous namespace: each test file gets its own copy.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/runtime/node.hpp"
#include "tradebus/schema/codec.hpp"

namespace {

class recording_context final : public tradebus::runtime::context {
  public:
    struct published {
        std::string topic;
        tradebus::schema::event ev;
    };

    void publish_event(std::string_view topic, tradebus::schema::event ev) override {
        ev.env.src = name;
        ev.env.seq = ++seq;
        ev.env.ts_ns = now;
        out.push_back({std::string(topic), std::move(ev)});
    }
    std::uint64_t new_trace_id() override { return ++last_trace; }
    std::int64_t now_ns() override { return now; }
    std::int64_t mono_ms() override { return now / 1'000'000; }
    [[nodiscard]] const std::string& node_name() const override { return name; }
    void report_health(tradebus::schema::health state, std::string reason) override {
        health.emplace_back(state, std::move(reason));
    }
    void request_stop(std::string reason) override { stops.push_back(std::move(reason)); }
    [[nodiscard]] std::uint64_t broker_epoch() const override { return epoch; }
    [[nodiscard]] std::uint64_t session_id() const override { return session; }
    /// Keeps the request and its reply callback: the test answers (or not) by calling it.
    bool send_control(
        std::string request,
        std::function<void(const tradebus::schema::control_message*)> on_reply) override {
        control.push_back({std::move(request), std::move(on_reply)});
        return true;
    }

    /// Events of type T published so far, in order, with their topics and trace ids.
    template <class T>
    [[nodiscard]] std::vector<std::pair<const published*, const T*>> of() const {
        std::vector<std::pair<const published*, const T*>> r;
        for (const auto& p : out) {
            if (const auto* b = std::get_if<T>(&p.ev.body)) r.emplace_back(&p, b);
        }
        return r;
    }

    std::string name = "test-node";
    std::int64_t now = 1'700'000'000'000'000'000;  // 2023-11-14T22:13:20Z
    std::uint64_t last_trace = 0;
    std::uint64_t seq = 0;
    std::vector<published> out;
    std::vector<std::pair<tradebus::schema::health, std::string>> health;
    std::vector<std::string> stops;
    std::uint64_t epoch = 0, session = 0;  // 0: not registered (the logic sends no control)
    struct control_request {
        std::string request;
        std::function<void(const tradebus::schema::control_message*)> on_reply;
    };
    std::vector<control_request> control;
};

/// An inbound message as the runtime would hand it over: the event, encoded, plus its topic.
struct inbound_message {
    inbound_message(std::string t, tradebus::schema::event e)
        : topic(std::move(t)), ev(std::move(e)) {
        tradebus::schema::encode_event(ev, raw);
    }
    [[nodiscard]] tradebus::runtime::inbound view() const { return {topic, raw, ev}; }
    std::string topic;
    tradebus::schema::event ev;
    std::string raw;
};

}  // namespace
