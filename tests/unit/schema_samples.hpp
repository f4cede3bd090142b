// One sample value of every event payload and every control message, with a non-default value
// in every field (nested vectors non-empty, enums off their defaults, some non-ASCII text).
// Shared by the codec unit tests and the fuzz seed generator (tests/fuzz/make_seeds.cpp).
// A new alternative in `payload` or `control_message` fails to compile here until it gets a
// sample: all_samples<V>() asks for one per alternative.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::schema::samples {

inline envelope sample_envelope() {
    return {.src = "marketdata-1",
            .seq = 42,
            .ts_ns = 1'700'000'000'123'456'789,
            .trace_id = 0x0123'4567'89ab'cdefULL,
            .inc = 0x5eed'0000'0000'0042ULL};
}

inline tick make(std::type_identity<tick>) {
    return {.symbol = "AAPL",
            .bid_px = 18'951'000'000,
            .bid_qty = 300,
            .ask_px = 18'953'000'000,
            .ask_qty = 200,
            .last_px = 18'952'000'000,
            .last_qty = 50,
            .exch_ts_ns = 1'700'000'000'100'000'000};
}
inline bar make(std::type_identity<bar>) {
    return {.symbol = "MSFT",
            .interval_ms = 60'000,
            .start_ts_ns = 1'700'000'040'000'000'000,
            .open_px = 37'010'000'000,
            .high_px = 37'120'000'000,
            .low_px = 36'990'000'000,
            .close_px = 37'050'000'000,
            .volume = 12'345,
            .ticks = 678};
}
inline schema::signal make(std::type_identity<schema::signal>) {
    return {.signal_id = 7,
            .symbol = "AAPL",
            .dir = side::buy,
            .qty = 100,
            .confidence = 0.75,
            .ref_px = 18'952'000'000,
            .reason = "ema_fast 189.6 > ema_slow 189.2, rsi 61"};
}
inline order make(std::type_identity<order>) {
    return {.order_id = "risk-1-1700000000123-3",
            .symbol = "AAPL",
            .dir = side::sell,
            .qty = 80,
            .requested_qty = 100,
            .kind = order_type::limit,
            .limit_px = 18'950'000'000,
            .signal_src = "strategy-1",
            .signal_id = 7,
            .tif = time_in_force::gtc,
            .expire_ts_ns = 1'700'003'600'000'000'000};
}
inline order_rejected make(std::type_identity<order_rejected>) {
    return {.symbol = "AAPL",
            .dir = side::sell,
            .qty = 500,
            .signal_src = "strategy-1",
            .signal_id = 8,
            .rule = "max_order_qty",
            .reason = "qty 500 > max_order_qty 100"};
}
inline order_ack make(std::type_identity<order_ack>) {
    return {.order_id = "risk-1-1700000000123-3",
            .symbol = "AAPL",
            .dir = side::sell,
            .qty = 80,
            .kind = order_type::limit,
            .limit_px = 18'950'000'000,
            .tif = time_in_force::ioc,
            .expire_ts_ns = 1'700'003'600'000'000'000,
            .signal_src = "strategy-1"};
}
inline fill make(std::type_identity<fill>) {
    return {.order_id = "risk-1-1700000000123-3",
            .fill_id = "exec-1-17",
            .symbol = "AAPL",
            .dir = side::sell,
            .qty = 30,
            .px = 18'950'500'000,
            .leaves_qty = 50};
}
inline exec_reject make(std::type_identity<exec_reject>) {
    return {.order_id = "risk-1-1700000000123-4",
            .symbol = "AAPL",
            .code = "no_quote",
            .reason = "no quote for AAPL yet"};
}
inline order_cancelled make(std::type_identity<order_cancelled>) {
    return {.order_id = "risk-1-1700000000123-3",
            .symbol = "AAPL",
            .dir = side::sell,
            .qty = 80,
            .leaves_qty = 50,
            .by = "operator: ana@desk-a",
            .reason = "stale quote – pulled",
            .request_id = 0x1234'5678'9abc'def0ULL};
}
inline order_expired make(std::type_identity<order_expired>) {
    return {.order_id = "risk-1-1700000000123-3",
            .symbol = "AAPL",
            .dir = side::sell,
            .qty = 80,
            .leaves_qty = 50,
            .expire_ts_ns = 1'700'006'400'000'000'000};
}
inline cancel_request make(std::type_identity<cancel_request>) {
    return {.request_id = 77,
            .order_id = "risk-1-1700000000123-3",
            .symbol = "AAPL",
            .all = true,
            .reason = "desk closing",
            .by = "ana@desk-a"};
}
inline cancel_reject make(std::type_identity<cancel_reject>) {
    return {.request_id = 77,
            .order_id = "risk-1-1700000000123-9",
            .symbol = "AAPL",
            .code = "unknown_order",
            .reason = "no order risk-1-1700000000123-9 was ever received"};
}
inline cancel_done make(std::type_identity<cancel_done>) {
    return {.request_id = 77, .cancelled = 3};
}
inline position make(std::type_identity<position>) {
    return {.symbol = "AAPL",
            .qty = -30,
            .avg_px = 18'950'500'000,
            .realized_pnl = -1'234'567'890,
            .unrealized_pnl = 987'654'321,
            .last_fill_id = "paper-1-17"};
}
inline risk_snapshot make(std::type_identity<risk_snapshot>) {
    return {.session_start_ns = 1'700'000'000'000'000'000,
            .day_base_pnl = -250'000'000,
            .positions = {{.symbol = "AAPL",
                           .qty = -30,
                           .avg_px = 18'950'500'000,
                           .realized_pnl = -1'234'567'890,
                           .mark_px = 18'900'000'000,
                           .last_fill_id = "paper-1-17"}},
            .working = {
                {.order_id = "risk-1-17-5", .symbol = "AAPL", .dir = side::sell, .open_qty = 20}}};
}
inline risk_limits make(std::type_identity<risk_limits>) {
    return {.cause = "refused",
            .error = "risk.toml:3:16: risk.max_position: expected an integer in 1..1000000000",
            .allowed_symbols = {"AAPL", "MSFT"},
            .max_order_qty = 50,
            .max_position = 200,
            .symbols = {{.symbol = "MSFT", .max_order_qty = 5, .max_position = 10}},
            .max_gross_notional = 100'000'000'000'000,
            .max_daily_loss = 500'000'000'000,
            .reducing_daily_loss = 250'000'000'000,
            .max_orders_per_sec = 20,
            .stale_quote_ms = 1500,
            .max_working_orders = 300,
            .price_band_bps = 25.5};
}
inline node_health make(std::type_identity<node_health>) {
    return {.node = "risk-1",
            .kind = "risk",
            .old_state = health::healthy,
            .new_state = health::unhealthy,
            .reason = "missed 3 heartbeats (1500 ms)"};
}
inline node_registered make(std::type_identity<node_registered>) {
    return {.node = "risk-1",
            .kind = "risk",
            .host = "desk-a",
            .version = "0.1.0",
            .pid = 4242,
            .session_id = 99};
}
inline broker_started make(std::type_identity<broker_started>) {
    return {.epoch = 3,
            .version = "0.1.0",
            .xsub_endpoint = "tcp://127.0.0.1:5555",
            .xpub_endpoint = "tcp://127.0.0.1:5556",
            .control_endpoint = "tcp://127.0.0.1:5557"};
}
inline recorder_gap make(std::type_identity<recorder_gap>) {
    return {.epoch = 0x1234'5678'9abc, .expected_seq = 41, .first_seq = 1041, .missing = 1000};
}
inline flatten_request make(std::type_identity<flatten_request>) {
    return {.request_id = 79, .symbol = "AAPL", .reason = "end of day", .by = "ana@desk-a"};
}
inline flatten_done make(std::type_identity<flatten_done>) {
    return {.request_id = 79,
            .symbol = "AAPL",
            .cancelled = 2,
            .closing = {{.order_id = "risk-1-1700000000123-12",
                         .symbol = "AAPL",
                         .dir = side::sell,
                         .open_qty = 300}},
            .left = {{.symbol = "MSFT", .qty = -40, .reason = "trading halted: symbol MSFT"}},
            .working = {{.order_id = "risk-1-1700000000123-11",
                         .symbol = "TSLA",
                         .dir = side::sell,
                         .open_qty = 5}},
            .error = "execution did not answer the cancel within 5000 ms"};
}
inline exec_snapshot make(std::type_identity<exec_snapshot>) {
    return {.session_start_ns = 1'700'000'000'000'000'000,
            .resting = {{.order_id = "risk-1-1700000000123-12",
                         .symbol = "AAPL",
                         .dir = side::sell,
                         .qty = 300,
                         .leaves_qty = 120,
                         .kind = order_type::limit,
                         .limit_px = 18'950'000'000,
                         .tif = time_in_force::gtc,
                         .expire_ts_ns = 1'700'000'360'000'000'000,
                         .signal_src = "strategy-1",
                         .trace_id = 0xfeed'beef}}};
}
inline trading_state_changed make(std::type_identity<trading_state_changed>) {
    return {.state = trading_state::halted,
            .reason = "daily loss \xe2\x82\xac 50k reached",  // the euro sign: non-ASCII text
            .by = "operator",
            .symbol = "AAPL",
            .strategy = "strategy-1"};
}

inline probe make(std::type_identity<probe>) {
    return {.node = "strategy-1", .nonce = 0x5eed'0000'0001ULL};
}

inline acl_violation make(std::type_identity<acl_violation>) {
    return {.node = "strategy-1", .topic = "exec.fill.AAPL", .dropped = 12};
}

inline node_counters sample_counters(std::uint64_t base) {
    return {.published = base + 1,
            .received = base + 2,
            .gaps = base + 3,
            .decode_errors = base + 4,
            .queue_depth = base + 5,
            .misrouted = base + 6,
            .cpu_ms = base + 7,
            .rss_bytes = (base + 8) * 4096,
            .open_fds = base + 9};
}

inline register_request make(std::type_identity<register_request>) {
    return {.name = "risk-1",
            .kind = "risk",
            .host = "desk-a",
            .version = "0.1.0",
            .pid = 4242,
            .publishes = {"risk.approved.", "risk.rejected.", "risk.position."},
            .subscribes = {"strategy.signal.", "exec.fill."},
            .depends_on = {"marketdata-1", "strategy-1"},
            .heartbeat_interval_ms = 500};
}
// ready=true together with a non-empty waiting_for is not a state the broker sends; the codec
// does not care, and every field must differ from its default here.
inline register_reply make(std::type_identity<register_reply>) {
    return {.session_id = 99,
            .epoch = 3,
            .xsub_endpoint = "tcp://127.0.0.1:5555",
            .xpub_endpoint = "tcp://127.0.0.1:5556",
            .heartbeat_interval_ms = 500,
            .liveness = 3,
            .ready = true,
            .waiting_for = {"execution-1"},
            .trading = trading_state::reducing};
}
inline heartbeat_request make(std::type_identity<heartbeat_request>) {
    return {.name = "risk-1",
            .session_id = 99,
            .state = health::degraded,
            .counters = sample_counters(10)};
}
inline heartbeat_reply make(std::type_identity<heartbeat_reply>) {
    return {.epoch = 3,
            .ready = true,
            .waiting_for = {"strategy-1", "marketdata-1"},
            .trading = trading_state::halted};
}
inline deregister_request make(std::type_identity<deregister_request>) {
    return {.name = "risk-1", .session_id = 99};
}
inline ok_reply make(std::type_identity<ok_reply>) { return {.detail = "halted by operator"}; }
inline status_request make(std::type_identity<status_request>) { return {.max_topics = 25}; }
inline status_reply make(std::type_identity<status_reply>) {
    return {.epoch = 3,
            .version = "0.1.0",
            .uptime_ms = 123'456,
            .trading = trading_state::halted,
            .trading_reason = "operator: end of day",
            .nodes = {{.name = "marketdata-1",
                       .kind = "marketdata",
                       .host = "desk-a",
                       .version = "0.1.0",
                       .pid = 4000,
                       .state = health::healthy,
                       .last_heartbeat_age_ms = 120,
                       .depends_on = {"broker"},
                       .counters = sample_counters(100)},
                      {.name = "risk-1",
                       .kind = "risk",
                       .host = "desk-b",
                       .version = "0.1.1",
                       .pid = 4242,
                       .state = health::degraded,
                       .last_heartbeat_age_ms = 2'500,
                       .depends_on = {"marketdata-1", "strategy-1"},
                       .counters = sample_counters(200)}},
            .start_order = {"marketdata-1", "strategy-1", "risk-1"},
            .topics = {{.topic = "md.tick.AAPL", .messages = 1'000, .bytes = 150'000},
                       {.topic = "exec.fill.AAPL", .messages = 3, .bytes = 600}},
            .topics_total = 17,
            .drops = {{.reason = "frame_count", .count = 2}, {.reason = "oversized", .count = 1}},
            .recorder = {.enabled = true,
                         .stalled = true,
                         .sent = 1'003,
                         .stalls = 2,
                         .stalled_ms = 15,
                         .overflow = 1,
                         .seq = 1'004,
                         .acked = 990,
                         .retained = 14,
                         .retained_bytes = 2'100,
                         .evicted = 5,
                         .redelivered = 12},
            .trading_scopes = {{.symbol = "AAPL",
                                .strategy = "strategy-1",  // the wire allows both; the broker not
                                .state = trading_state::reducing,
                                .reason = "earnings",
                                .by = "ops@desk",
                                .since_ns = 1'733'000'000'000'000'000},
                               {.symbol = "MSFT",
                                .strategy = "strategy-2",
                                .state = trading_state::active,
                                .reason = "misbehaving",
                                .by = "ops@desk",
                                .since_ns = 1'733'000'000'000'000'001}}};
}
inline halt_request make(std::type_identity<halt_request>) {
    return {.reason = "daily loss limit",
            .by = "operator",
            .symbol = "AAPL",
            .strategy = "strategy-1",
            .reduce_only = true};
}
inline resume_request make(std::type_identity<resume_request>) {
    return {.reason = "limits reset", .by = "operator", .symbol = "AAPL", .strategy = "strategy-1"};
}
inline error_reply make(std::type_identity<error_reply>) {
    return {.code = "unknown_session", .reason = "session 98 is not known; register again"};
}
inline snapshot_request make(std::type_identity<snapshot_request>) {
    return {.prefix = "md.tick.", .after = "md.tick.AAPL"};
}
inline snapshot_reply make(std::type_identity<snapshot_reply>) {
    return {.count = 2, .next = "md.tick.MSFT", .covered = true};
}

inline announce_request make(std::type_identity<announce_request>) {
    return {.name = "journal-1",
            .session_id = 99,
            .service = "journal",
            .endpoint = "tcp://127.0.0.1:40123"};
}
inline lookup_request make(std::type_identity<lookup_request>) { return {.service = "journal"}; }
inline lookup_reply make(std::type_identity<lookup_reply>) {
    return {.service = "journal",
            .endpoint = "tcp://127.0.0.1:40123",
            .node = "journal-1",
            .healthy = true};
}
inline services_request make(std::type_identity<services_request>) { return {}; }
inline services_reply make(std::type_identity<services_reply>) {
    return {.services = {{.service = "journal",
                          .endpoint = "ipc:///run/tradebus/journal-query",
                          .node = "journal-1",
                          .state = health::degraded}}};
}
inline journal_query make(std::type_identity<journal_query>) {
    return {.prefixes = {"exec.fill.", "risk.state"},
            .since_ns = 1'700'000'000'000'000'000,
            .from_index = 17,
            .max_records = 500};
}
inline journal_query_reply make(std::type_identity<journal_query_reply>) {
    return {.count = 3, .next_index = 20, .done = true};
}
inline recorder_ack make(std::type_identity<recorder_ack>) {
    return {.name = "journal", .session_id = 0xfeed'0001, .epoch = 0x0fed'cba9, .seq = 4096};
}
inline recorder_resume make(std::type_identity<recorder_resume>) {
    return {.name = "journal", .session_id = 0xfeed'0001, .epoch = 0x0fed'cba9, .after = 4000};
}
inline recorder_resume_reply make(std::type_identity<recorder_resume_reply>) {
    return {.epoch = 0x0fed'cba9, .first = 4100, .missing = 99, .next = 5000};
}
inline cancel_command make(std::type_identity<cancel_command>) {
    return {.request_id = 78,
            .order_id = "risk-1-1700000000123-3",
            .symbol = "MSFT",
            .all = true,
            .reason = "operator cancel",
            .by = "ana@desk-a"};
}
inline flatten_command make(std::type_identity<flatten_command>) {
    return {.request_id = 79, .symbol = "AAPL", .reason = "end of day", .by = "ana@desk-a"};
}

/// One sample per alternative of `Variant`, in variant order.
template <class Variant>
std::vector<Variant> all_samples() {
    return []<std::size_t... I>(std::index_sequence<I...>) {
        return std::vector<Variant>{
            Variant(std::in_place_index<I>,
                    make(std::type_identity<std::variant_alternative_t<I, Variant>>{}))...};
    }
    (std::make_index_sequence<std::variant_size_v<Variant>>{});
}

}  // namespace tradebus::schema::samples
