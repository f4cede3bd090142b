// A runtime::context test double for the strategy and risk node tests: records every
// publication (topic + event with the trace id the logic asked for) and health report, with a
// clock the test sets. Lets strategy_test.cpp and risk_test.cpp test the adapters' wiring
// (topics, trace id copies, risk.state, health) without sockets.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/runtime/node.hpp"

namespace tradebus::testing {

class fake_context final : public runtime::context {
  public:
    struct published {
        std::string topic;
        schema::event ev;
    };

    explicit fake_context(std::string name = "node") : name_(std::move(name)) {}

    void publish_event(std::string_view topic, schema::event ev) override {
        ev.env.src = name_;
        ev.env.seq = ++seq_;
        ev.env.ts_ns = now;
        events.push_back({std::string(topic), std::move(ev)});
    }
    std::uint64_t new_trace_id() override { return ++trace_; }
    /// How many trace ids the logic asked for (new chains it started).
    [[nodiscard]] std::uint64_t trace_ids_made() const { return trace_ - first_trace; }
    std::int64_t now_ns() override { return now; }
    std::int64_t mono_ms() override { return now / 1'000'000; }
    [[nodiscard]] const std::string& node_name() const override { return name_; }
    void report_health(schema::health state, std::string reason) override {
        health = state;
        health_reason = std::move(reason);
        ++health_reports;
    }
    void request_stop(std::string reason) override { stop_reason = std::move(reason); }

    /// One published body of type T with its topic and trace id.
    template <class T>
    struct item {
        std::string topic;
        std::uint64_t trace_id;
        T body;
    };
    /// Every published body of type T, in order.
    template <class T>
    [[nodiscard]] std::vector<item<T>> of() const {
        std::vector<item<T>> out;
        for (const auto& p : events) {
            if (const auto* b = std::get_if<T>(&p.ev.body)) {
                out.push_back({p.topic, p.ev.env.trace_id, *b});
            }
        }
        return out;
    }

    std::vector<published> events;
    std::int64_t now = 1'700'000'000'000'000'000;  // 2023-11-14, ns
    schema::health health = schema::health::healthy;
    std::string health_reason;
    int health_reports = 0;
    std::string stop_reason;

  private:
    std::string name_;
    std::uint64_t seq_ = 0;
    static constexpr std::uint64_t first_trace = 0xF000;
    std::uint64_t trace_ = first_trace;
};

/// Delivers `body` to `logic` as if it arrived on `topic` from `src` with `trace_id`.
template <class Body>
void deliver(runtime::node_logic& logic, runtime::context& ctx, std::string_view topic,
             const Body& body, std::uint64_t trace_id = 0, std::string src = "peer") {
    const schema::event ev{schema::envelope{std::move(src), 1, ctx.now_ns(), trace_id}, body};
    logic.on_event(ctx, runtime::inbound{topic, std::string_view{}, ev});
}

}  // namespace tradebus::testing
