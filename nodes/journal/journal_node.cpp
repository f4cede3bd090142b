#include "tradebus/journal/journal_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "tradebus/journal/format.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::journal {

namespace {

// The few msgpack forms a gap marker needs (big-endian, per the msgpack spec).
void mp_str(std::string& out, std::string_view s) {
    const auto n = s.size();
    if (n < 32) {
        out += static_cast<char>(0xa0 | n);
    } else if (n < 0x100) {
        out += static_cast<char>(0xd9);
        out += static_cast<char>(n);
    } else if (n < 0x10000) {
        out += static_cast<char>(0xda);
        out += static_cast<char>(n >> 8);
        out += static_cast<char>(n & 0xff);
    } else {
        s = s.substr(0, 0xffff);  // never happens: topics and node names are short
        out += static_cast<char>(0xda);
        out += static_cast<char>(0xff);
        out += static_cast<char>(0xff);
    }
    out.append(s);
}

void mp_uint(std::string& out, std::uint64_t v) {
    if (v < 0x80) {
        out += static_cast<char>(v);
        return;
    }
    out += static_cast<char>(0xcf);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

}  // namespace

std::string encode_gap_marker(const gap_marker& m) {
    const bool broker = m.kind == "broker_restart";
    std::string out;
    out += static_cast<char>(0x80 | (broker ? 9 : 7));  // fixmap
    mp_str(out, "type");
    mp_str(out, "journal_gap");
    mp_str(out, "kind");
    mp_str(out, m.kind);
    mp_str(out, "src");
    mp_str(out, m.src);
    mp_str(out, "topic");
    mp_str(out, m.topic);
    mp_str(out, "expected_seq");
    mp_uint(out, m.expected_seq);
    mp_str(out, "got_seq");
    mp_uint(out, m.got_seq);
    mp_str(out, "missing");
    mp_uint(out, m.missing);
    if (broker) {
        mp_str(out, "old_epoch");
        mp_uint(out, m.old_epoch);
        mp_str(out, "new_epoch");
        mp_uint(out, m.new_epoch);
    }
    return out;
}

journal_config read_config(common::section& own) {
    journal_config c;
    writer_options& w = c.writer;
    w.dir = own.string("dir", "var/journal");
    if (w.dir.empty()) own.error("dir", "expected a directory path, got \"\"");
    w.segment_bytes = static_cast<std::uint64_t>(
        own.integer("segment_bytes", static_cast<std::int64_t>(w.segment_bytes), 4096, 1LL << 40));
    const auto policy = own.choice("fsync", "interval", {"none", "interval", "every"});
    w.fsync = policy == "none"    ? fsync_policy::none
              : policy == "every" ? fsync_policy::every
                                  : fsync_policy::interval;
    w.fsync_interval_ms = own.integer("fsync_interval_ms", w.fsync_interval_ms, 1, 3'600'000);
    w.buffer_bytes = static_cast<std::uint64_t>(
        own.integer("buffer_bytes", static_cast<std::int64_t>(w.buffer_bytes), 4096, 1LL << 30));
    c.record_gaps = own.boolean("record_gaps", c.record_gaps);
    c.source = own.choice("source", c.source, {"bus", "recorder"});
    c.recorder_endpoint = own.endpoint("recorder_endpoint", "");
    if (c.source == "recorder" && c.recorder_endpoint.empty()) {
        own.error("recorder_endpoint",
                  "expected the broker's [endpoints] recorder endpoint (source = \"recorder\"), "
                  "got nothing");
    }
    c.query_endpoint = own.has("query_endpoint") && own.string("query_endpoint", "").empty()
                           ? std::string()
                           : own.endpoint("query_endpoint", c.query_endpoint);
    c.query.max_records = own.integer("query_max_records", c.query.max_records, 1, 1'000'000);
    return c;
}

journal_node::journal_node(journal_config cfg) : cfg_(std::move(cfg)) {}

void journal_node::on_start(runtime::context& ctx) {
    writer_.emplace(cfg_.writer);
    const auto& r = writer_->recovery();
    spdlog::info("journal: writing to {} (next record {}, fsync {}, segments of {} bytes){}",
                 writer_->current_segment(), writer_->next_index(),
                 cfg_.writer.fsync == fsync_policy::none    ? "none"
                 : cfg_.writer.fsync == fsync_policy::every ? "every record"
                                                            : "interval",
                 cfg_.writer.segment_bytes,
                 r.clean() ? "" : fmt::format("; recovery dropped {} bytes", r.dropped_bytes));
    if (cfg_.query_endpoint.empty()) {
        spdlog::warn(
            "journal: query_endpoint = \"\": no query service (restarting nodes cannot "
            "recover their state from this journal)");
        return;
    }
    query_.emplace(ctx.zmq_context(), cfg_.query_endpoint, cfg_.writer.dir, cfg_.query,
                   [this](std::string& why) {
                       if (writer_->flush()) return true;
                       why = writer_->last_error();
                       return false;
                   });
    ctx.watch_socket(query_->socket(), [this] { query_->on_readable(); });
    ctx.announce_service("journal", query_->endpoint());
    spdlog::info("journal: answering queries on {} (service \"journal\")", query_->endpoint());
}

void journal_node::store(runtime::context& ctx, std::string_view topic, std::string_view raw,
                         std::int64_t ts, std::uint16_t flags) {
    if (!writer_) return;
    writer_->append(topic, raw, ts, flags);
    check_health(ctx);
}

void journal_node::on_event(runtime::context& ctx, const runtime::inbound& in) {
    const std::int64_t now = ctx.now_ns();
    if (cfg_.record_gaps) {
        const auto& env = in.ev.env;
        const auto seen = gaps_.observe(env.src, in.topic, env.seq);
        using outcome = runtime::gap_tracker::outcome;
        if (seen.what == outcome::gap || seen.what == outcome::restart) {
            const bool gap = seen.what == outcome::gap;
            gap_marker m{gap ? "gap" : "restart", env.src, std::string(in.topic),
                         seen.expected,           env.seq, gap ? seen.missing : 0};
            store(ctx, in.topic, encode_gap_marker(m), now, format::flags::gap_marker);
            ++gaps_recorded_;
            if (gap) {
                if (const auto n = gap_log_.hit()) {
                    spdlog::warn(
                        "journal: gap from {} on {}: expected seq {}, got {} ({} lost; "
                        "marker recorded; {} gap(s) in last period)",
                        env.src, in.topic, seen.expected, env.seq, seen.missing, n);
                }
            }
        }
    }
    store(ctx, in.topic, in.raw, now, 0);
}

std::string journal_node::data_endpoint() const {
    return cfg_.source == "recorder" ? cfg_.recorder_endpoint : std::string();
}

void journal_node::on_broker_restart(runtime::context& ctx, std::uint64_t old_epoch,
                                     std::uint64_t new_epoch) {
    gap_marker m{"broker_restart", "",       std::string(schema::topics::broker_started), 0, 0, 0,
                 old_epoch,        new_epoch};
    store(ctx, m.topic, encode_gap_marker(m), ctx.now_ns(), format::flags::gap_marker);
    on_drained(ctx);  // may come outside a poll's drain: written now all the same
    ++gaps_recorded_;
    spdlog::warn("journal: broker restarted (epoch {} -> {}): marker recorded", old_epoch,
                 new_epoch);
}

void journal_node::on_undecodable(runtime::context& ctx, std::string_view topic,
                                  std::string_view raw, const schema::decode_error& /*why*/) {
    store(ctx, topic, raw, ctx.now_ns(), format::flags::undecodable);
}

void journal_node::on_drained(runtime::context& ctx) {
    if (!writer_ || writer_->buffered_bytes() == 0) return;
    (void)writer_->flush();  // an error is the writer's last_error(): health reports it
    check_health(ctx);
}

std::int64_t journal_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (!writer_) return 0;
    writer_->tick(now_ns);  // fdatasync when fsync_interval_ms is due (policy interval)
    check_health(ctx);
    return now_ns + cfg_.writer.fsync_interval_ms * 1'000'000;
}

void journal_node::check_health(runtime::context& ctx) {
    const bool failing = !writer_->last_error().empty();
    if (failing == degraded_) return;
    degraded_ = failing;
    if (failing) {
        ctx.report_health(schema::health::degraded,
                          "journal writes failing: " + writer_->last_error());
    } else {
        ctx.report_health(schema::health::healthy, "");
    }
}

void journal_node::on_stop(runtime::context& ctx) {
    if (query_) {
        ctx.unwatch_socket(query_->socket());
        spdlog::info("journal: query service answered {} query(ies), refused {}",
                     query_->answered(), query_->refused());
        query_.reset();
    }
    if (!writer_) return;
    spdlog::info("journal: closing {}: {} record(s) written this run, {} dropped, {} gap marker(s)",
                 writer_->current_segment(), writer_->records_written(), writer_->dropped_records(),
                 gaps_recorded_);
    writer_.reset();  // flushes, and fsyncs unless the policy is none
}

std::unique_ptr<runtime::node_logic> make_journal(common::section& own) {
    return std::make_unique<journal_node>(read_config(own));
}

}  // namespace tradebus::journal
