// Every broker default in one place, each with its unit and why (ARCHITECTURE.md "Config
// validation", nats const.go). config/broker.toml ships the same values with a comment per key;
// config.cpp reads them from here so the two cannot silently disagree with the code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tradebus::broker::defaults {

// ---------------------------------------------------------------- [broker]
/// The `src` of the broker's own sys.* events.
inline constexpr std::string_view name = "broker";
inline constexpr std::string_view log_level = "info";

// ---------------------------------------------------------------- [endpoints]
/// Loopback TCP: works for a one-host pipeline without touching the file system; LAN setups
/// bind tcp://0.0.0.0:... and advertise a routable address.
inline constexpr std::string_view xsub_endpoint = "tcp://127.0.0.1:5550";
inline constexpr std::string_view xpub_endpoint = "tcp://127.0.0.1:5551";
inline constexpr std::string_view control_endpoint = "tcp://127.0.0.1:5552";

// ---------------------------------------------------------------- [data]
/// Messages queued per subscriber before libzmq drops for that subscriber (silently: XPUB
/// without NODROP). 100k absorbs a market-data burst of ~20 MB at ~200 B/message for one slow
/// subscriber; libzmq's 1000 drops during ordinary bursts. Subscribers see drops as seq gaps.
inline constexpr std::int64_t sndhwm = 100'000;
/// Messages queued per publisher on XSUB before libzmq stops reading that publisher's TCP
/// connection (the publisher's own PUB then drops at its HWM, never the broker).
inline constexpr std::int64_t rcvhwm = 100'000;
/// Largest body frame forwarded; matches schema::limits::max_message_bytes (1 MiB) so nothing
/// the broker forwards is refused by a subscriber's decoder.
inline constexpr std::int64_t max_message_bytes = 1 << 20;
/// Distinct topics with their own counters; the rest are counted under other_topic. Bounds the
/// memory a publisher inventing topics can make the broker spend (~100 B per topic).
inline constexpr std::int64_t max_topics_tracked = 100'000;
/// A topic row that counted no message for this long (1x to 2x: the idle sweep passes every
/// topic_idle_s) is removed, its counts added to other_topic, so invented topics do not hold
/// the table's rows for good. 10 minutes: a symbol quiet for that long costs a counter reset.
inline constexpr std::int64_t topic_idle_s = 600;
/// Buckets of the topic table the idle sweep visits per loop turn (about a millisecond).
inline constexpr std::size_t topic_sweep_buckets = 4096;
/// Distinct subscription prefixes the broker passes to publishers at a time; a subscribe to a
/// further prefix is dropped (subscription_limit). Bounds what every publisher's PUB socket
/// holds for the broker (~300 B per prefix: 10k = ~3 MB) whatever subscribers send.
inline constexpr std::int64_t max_subscriptions = 10'000;

// ---------------------------------------------------------------- [heartbeat]
/// The Guide's Paranoid Pirate numbers: 1 s interval, 3 missed => unhealthy.
inline constexpr std::int64_t heartbeat_interval_ms = 1000;
inline constexpr std::int64_t liveness = 3;
/// An unhealthy node is declared gone (stopped) after this long without a heartbeat.
inline constexpr std::int64_t gone_after_ms = 30'000;

// ---------------------------------------------------------------- [metrics]
/// Off unless configured: an HTTP port is an operator's decision (Prometheus' convention for
/// exporters is 9464, the OpenTelemetry Prometheus exporter's port).
inline constexpr std::string_view metrics_listen = "";
/// Open scrape connections (a scraper needs one or two). A further one evicts the oldest
/// connection still sending its request, or is closed at once when all are answered already.
/// 64 x metrics_max_request_bytes = 512 KiB of request buffers at most.
inline constexpr std::size_t metrics_max_connections = 64;
/// Bytes of one HTTP request (request line + headers); more = 431 and the connection closed.
inline constexpr std::size_t metrics_max_request_bytes = 8192;
/// A connection that has not sent a whole request after this long is closed (slowloris).
inline constexpr std::int64_t metrics_request_timeout_ms = 5000;
/// An answer the client has not read in full after this long is abandoned (counted unfinished).
inline constexpr std::int64_t metrics_write_timeout_ms = 10'000;
/// After the answer the broker shuts down its side and waits this long for the client to close.
inline constexpr std::int64_t metrics_close_wait_ms = 2000;
/// Topic rows rendered per loop turn while a scrape is rendered (~1 ms of the loop's time).
inline constexpr std::size_t metrics_render_rows = 4096;
/// Bytes of an answer written to one connection per loop turn: on loopback a fast reader lets
/// send() take a whole 12 MB scrape at once, for every client, inside one turn.
inline constexpr std::size_t metrics_write_bytes = 256 * 1024;

// ---------------------------------------------------------------- [trading]
/// Where the operator's last halt/resume is kept; "" = nowhere (every start is a missing state).
inline constexpr std::string_view trading_state_file = "";
/// The state a broker starts in when it has no saved state: halted, so that losing the file (or
/// never configuring one) can never resume trading; only an operator's `tradebus resume` does.
inline constexpr std::string_view trading_missing_state = "halted";
/// Symbol and strategy scopes of the kill switch in force at once (halt --symbol/--strategy);
/// one more is refused (too_many_scopes). A desk halts a few names, not a universe: a halt of
/// everything is the desk's own halt. Bounds the state file, the status reply and the metrics.
inline constexpr std::size_t max_trading_scopes = 256;
/// The reason a scope's halt may carry (bytes): 256 of them keep a status reply far under a
/// control message's 1 MiB.
inline constexpr std::size_t max_scope_reason_bytes = 1024;

// ---------------------------------------------------------------- [lvc]
/// Last-value cache for late joiners: market data (the last quote and bar per symbol) and each
/// risk node's limits in force (`tradebus status` shows them) by default; orders and fills are
/// not "current values" and are recovered from the journal.
inline constexpr std::string_view lvc_prefixes[] = {"md.tick.", "md.bar.", "risk.limits."};
/// Topics cached; a new topic beyond this is not cached (counted as lvc_full), existing topics
/// keep updating. ~10k symbols x (tick + bar).
inline constexpr std::int64_t lvc_max_topics = 20'000;
/// Topic + body bytes of all cached messages (64 MiB); same rule as max_topics when full.
inline constexpr std::int64_t lvc_max_bytes = 64LL << 20;
/// Pairs in one snapshot reply: keeps the reply far below what a REQ client buffers and lets
/// the control plane answer other requests between pages.
inline constexpr std::size_t lvc_snapshot_page = 1000;
/// Bytes of topic + body in one snapshot page (a page ends early rather than grow beyond it).
inline constexpr std::size_t lvc_snapshot_page_bytes = 4u << 20;

/// [recorder]: recorder-link messages kept until the journal acknowledges them, so a journal
/// that was down or restarting gets them again (PROTOCOL.md "The recorder link"). 1,000,000
/// messages / 256 MiB hold a busy desk's minutes; beyond either the oldest is evicted (counted)
/// and the journal records the hole.
inline constexpr std::int64_t recorder_retain_messages = 1'000'000;
inline constexpr std::int64_t recorder_retain_bytes = 256LL << 20;
/// [recorder] client: the one node whose recorder_ack / recorder_resume the broker takes.
inline constexpr std::string_view recorder_client = "journal";

// ---------------------------------------------------------------- fixed (not in the TOML)
/// Heartbeat intervals a node may ask for at REGISTER (0 = the broker's).
inline constexpr std::int64_t min_heartbeat_interval_ms = 10;
inline constexpr std::int64_t max_heartbeat_interval_ms = 60'000;
/// Messages handled per socket per loop turn: the control plane and the liveness timers get a
/// turn at least every `data_drain_budget` forwarded messages (czmq zproxy drains unbounded).
inline constexpr std::size_t data_drain_budget = 1024;
inline constexpr std::size_t control_drain_budget = 64;
/// Longest poll wait: how late the loop may notice the stop flag set by SIGTERM (the handler
/// only sets a flag: ARCHITECTURE.md "The loop") and how late a watchdog ping may be.
inline constexpr std::int64_t max_poll_wait_ms = 100;
/// While the recorder is stalled, how often the held message is offered again, ms. Short: the
/// bus waits on it; not zero: XPUB cannot signal when its queue has room, so 0 would spin.
inline constexpr std::int64_t recorder_retry_ms = 1;
/// ZMQ_LINGER on every socket: shutdown never waits longer than this for unsent messages.
inline constexpr int linger_ms = 200;
/// ZMQ_MAXMSGSIZE: a frame above max_message_bytes * this factor makes libzmq drop the peer's
/// connection before buffering it (memory protection; such drops are not counted). Frames
/// between the two limits are received, counted as "oversized" and dropped.
inline constexpr std::int64_t transport_limit_factor = 4;
/// ZMQ_MAXMSGSIZE on XPUB: subscription frames are 1 byte + a prefix of at most 255 bytes.
/// Kept small on purpose: libzmq stores prefixes in a trie walked recursively, so a huge
/// prefix would cost stack depth in the broker (and in every publisher it is forwarded to).
inline constexpr std::int64_t max_subscription_frame_bytes = 1024;
/// Frames of one control request kept; extra frames are read and discarded (bad_request).
inline constexpr std::size_t max_control_frames = 8;
/// Node records kept (live + stopped) for names not in [pipeline] (those always have one);
/// the oldest stopped record makes room for a new name.
inline constexpr std::size_t max_nodes = 1024;
/// Risk nodes whose last risk.state the broker keeps for /metrics (tradebus_risk_trading_state);
/// a further publisher's risk.state is not tracked.
inline constexpr std::size_t max_risk_states = 64;
/// What one `register` may hold, so the node table stays small whatever peers send
/// (max_nodes x max_registration_bytes = 16 MiB at most): entries of publishes, subscribes
/// and depends_on each (every entry at most schema::topics::max_topic_bytes, 255), bytes of
/// kind, host and version each, and bytes of all of these together.
inline constexpr std::size_t max_registration_prefixes = 256;
inline constexpr std::size_t max_registration_field_bytes = 256;
inline constexpr std::size_t max_registration_bytes = 16 * 1024;
/// Replaced sessions remembered, so the losing process of a duplicate is told why.
inline constexpr std::size_t max_replaced_sessions = 1024;
// Services nodes may announce at once (the journal offers one; a few per node is plenty).
inline constexpr std::size_t max_services = 256;
/// The pseudo-topic that counts messages beyond max_topics_tracked. '*' cannot appear in a
/// forwarded topic (dropped as topic_chars), so it never collides with a real one.
inline constexpr std::string_view other_topic = "*other*";

}  // namespace tradebus::broker::defaults
