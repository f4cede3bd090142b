// tradebus-bench-codec: encode and decode cost per event type (Google Benchmark). Each event
// is filled the way the pipeline fills it (realistic symbols, ids, reasons), encoded into one
// reused buffer (the codec's contract: no allocation once the buffer is big enough) and
// decoded from bytes with full validation, as every subscriber does. The "bytes" counter is
// the encoded body size. tradebus-bench runs this and puts the medians in its table.
#include <benchmark/benchmark.h>

#include <string>

#include "tradebus/schema/codec.hpp"

namespace {

using namespace tradebus::schema;

envelope sample_envelope() { return {"marketdata", 1'234'567, 1'732'190'000'123'456'789, 42}; }

tick sample(tick*) {
    tick t;
    t.symbol = "AAPL";
    t.bid_px = to_fixed(187.42);
    t.ask_px = to_fixed(187.44);
    t.bid_qty = 300;
    t.ask_qty = 500;
    t.last_px = to_fixed(187.43);
    t.last_qty = 100;
    t.exch_ts_ns = 1'732'190'000'123'000'000;
    return t;
}
bar sample(bar*) {
    return {"AAPL",           60'000,          1'732'190'000'000'000'000,
            to_fixed(187.1),  to_fixed(187.9), to_fixed(186.8),
            to_fixed(187.43), 125'300,         812};
}
signal sample(signal*) {
    return {981,
            "AAPL",
            side::buy,
            100,
            0.72,
            to_fixed(187.43),
            "ema_fast crossed above ema_slow; rsi 58"};
}
order sample(order*) {
    return {"risk-1732190000123-981",
            "AAPL",
            side::buy,
            100,
            100,
            order_type::limit,
            to_fixed(187.45),
            "strategy",
            981,
            time_in_force::day,
            0};
}
order_rejected sample(order_rejected*) {
    return {
        "AAPL", side::buy, 500, "strategy", 982, "max_order_qty", "qty 500 > max_order_qty 100"};
}
order_ack sample(order_ack*) {
    return {"risk-1732190000123-981",
            "AAPL",
            side::buy,
            100,
            order_type::limit,
            to_fixed(187.45),
            time_in_force::day,
            1'732'233'600'000'000'000,
            "strategy"};
}
fill sample(fill*) {
    return {"risk-1732190000123-981",
            "execution-1732190000-77",
            "AAPL",
            side::buy,
            100,
            to_fixed(187.4512),
            0};
}
exec_reject sample(exec_reject*) {
    return {"risk-1732190000123-983", "AAPL", "no_quote", "no quote for AAPL within 5000 ms"};
}
order_cancelled sample(order_cancelled*) {
    return {"risk-1732190000123-981",
            "AAPL",
            side::buy,
            100,
            40,
            "operator: ana@desk",
            "tradebus cancel",
            0x1234'5678'9abc'def0};
}
order_expired sample(order_expired*) {
    return {"risk-1732190000123-981", "AAPL", side::buy, 100, 40, 1'732'233'600'000'000'000};
}
cancel_request sample(cancel_request*) {
    return {
        0x1234'5678'9abc'def0, "risk-1732190000123-981", "", false, "tradebus cancel", "ana@desk"};
}
cancel_reject sample(cancel_reject*) {
    return {0x1234'5678'9abc'def0, "risk-1732190000123-981", "", "already_terminal",
            "order risk-1732190000123-981 is no longer resting (filled, cancelled or expired)"};
}
cancel_done sample(cancel_done*) { return {0x1234'5678'9abc'def0, 1}; }
position sample(position*) {
    return {"AAPL", 300, to_fixed(187.21), to_fixed(1234.5), to_fixed(-87.25), "paper-1-17"};
}
risk_limits sample(risk_limits*) {
    return {"reload",
            "",
            {"AAPL", "MSFT"},
            100,
            300,
            {{"MSFT", 10, 40}},
            to_fixed(1e6),
            to_fixed(5000.0),
            0,
            100,
            2000,
            1000,
            50.0};
}
risk_snapshot sample(risk_snapshot*) {
    return {1'732'190'000'000'000'000,
            to_fixed(-87.25),
            {{"AAPL", 300, to_fixed(187.21), to_fixed(1234.5), to_fixed(187.5), "paper-1-17"},
             {"MSFT", -40, to_fixed(415.02), to_fixed(-12.5), to_fixed(414.8), "paper-1-9"}},
            {{"risk-1-17-5", "AAPL", side::buy, 20}}};
}
node_health sample(node_health*) {
    return {"strategy", "strategy", health::healthy, health::unhealthy,
            "missed 3 heartbeats (interval 1000 ms)"};
}
node_registered sample(node_registered*) {
    return {"strategy", "strategy", "trading-01", "0.1.0+34d635b", 41'872, 0x1234'5678'9abc'def0};
}
broker_started sample(broker_started*) {
    return {0x0fed'cba9'8765'4321, "0.1.0+34d635b", "tcp://127.0.0.1:5550", "tcp://127.0.0.1:5551",
            "tcp://127.0.0.1:5552"};
}
trading_state_changed sample(trading_state_changed*) {
    return {trading_state::halted, "daily loss limit reached", "risk", "", ""};
}
probe sample(probe*) { return {"strategy", 0x5eed'1234}; }
recorder_gap sample(recorder_gap*) { return {0x0fed'cba9'8765'4321, 41, 1041, 1000}; }
flatten_request sample(flatten_request*) {
    return {0x1234'5678'9abc'def0, "", "end of day", "ana@desk"};
}
flatten_done sample(flatten_done*) {
    return {0x1234'5678'9abc'def0,
            "",
            2,
            {{"risk-1732190000123-982", "AAPL", side::sell, 300}},
            {{"MSFT", -40, "trading halted: symbol MSFT halted by ana@desk"}},
            {},
            ""};
}
exec_snapshot sample(exec_snapshot*) {
    return {1'732'190'000'000'000'000,
            {{"risk-1732190000123-982", "AAPL", side::buy, 300, 120, order_type::limit,
              to_fixed(187.21), time_in_force::gtc, 0, "strategy", 0x1234'5678'9abc'def0}}};
}
acl_violation sample(acl_violation*) { return {"strategy", "exec.fill.AAPL", 3}; }

template <class T>
void encode(benchmark::State& state) {
    const envelope env = sample_envelope();
    const T body = sample(static_cast<T*>(nullptr));
    std::string buf;
    encode_event(env, body, buf);  // the buffer reaches its size once, then is reused
    for (auto _ : state) {
        encode_event(env, body, buf);
        benchmark::DoNotOptimize(buf.data());
        benchmark::ClobberMemory();
    }
    state.counters["bytes"] = static_cast<double>(buf.size());
}

template <class T>
void decode(benchmark::State& state) {
    std::string bytes;
    encode_event(sample_envelope(), sample(static_cast<T*>(nullptr)), bytes);
    if (!decode_event(bytes)) {
        state.SkipWithError("the sample does not decode");
        return;
    }
    for (auto _ : state) {
        auto r = decode_event(bytes);
        benchmark::DoNotOptimize(r);
    }
    state.counters["bytes"] = static_cast<double>(bytes.size());
}

// Decoded into one event kept across messages, as the node runtime's receive path does
// (decode_event(bytes, out)): no allocation once its strings have their sizes.
template <class T>
void decode_into(benchmark::State& state) {
    std::string bytes;
    encode_event(sample_envelope(), sample(static_cast<T*>(nullptr)), bytes);
    event kept;
    if (decode_event(bytes, kept)) {
        state.SkipWithError("the sample does not decode");
        return;
    }
    for (auto _ : state) {
        auto error = decode_event(bytes, kept);
        benchmark::DoNotOptimize(error);
        benchmark::DoNotOptimize(kept);
    }
    state.counters["bytes"] = static_cast<double>(bytes.size());
}

template <class T>
void register_type() {
    const std::string name(T::type_name);
    benchmark::RegisterBenchmark(("encode/" + name).c_str(), encode<T>);
    benchmark::RegisterBenchmark(("decode/" + name).c_str(), decode<T>);
    benchmark::RegisterBenchmark(("decode_into/" + name).c_str(), decode_into<T>);
}

template <std::size_t... I>
void register_all(std::index_sequence<I...>) {
    (register_type<std::variant_alternative_t<I, payload>>(), ...);
}

}  // namespace

int main(int argc, char** argv) {
    // Every alternative of the payload variant, so a new event type is benchmarked as well.
    register_all(std::make_index_sequence<std::variant_size_v<payload>>{});
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
