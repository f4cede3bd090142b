#include "tradebus/journal/journal_node.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "tradebus/journal/format.hpp"
#include "tradebus/schema/codec.hpp"
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

// Recorder link pacing: acknowledgements at most this often (each is a control round trip;
// the broker keeps what is not acknowledged), a fresh mark after this many link records (bounds
// what find_link_position reads at start), and how long only messages ahead of the position
// may arrive before the journal asks to resume again (the link lost some on the way).
constexpr std::int64_t ack_every_ms = 20;
constexpr std::uint64_t mark_every_records = 4096;
constexpr std::int64_t ahead_resume_ms = 1000;
// After a refused or unanswered recorder_resume, the next one waits this long.
constexpr std::int64_t resume_retry_ms = 1000;

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
    if (cfg_.source == "recorder") {
        link_ = true;
        if (auto found = find_link_position(cfg_.writer.dir)) {
            pos_ = written_ = *found;
            had_position_ = true;
            spdlog::info(
                "journal: recorder link: the log ends at epoch {} seq {}; asking the broker to "
                "resume after it",
                pos_.epoch, pos_.seq);
        } else {
            spdlog::info(
                "journal: recorder link: no position in the log; asking the broker for all it "
                "still keeps");
        }
        want_resume_ = true;
        drive_link(ctx);
    }
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
        const auto seen = gaps_.observe(env.src, in.topic, env.seq, env.inc);
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
    if (link_) {
        // The new broker numbers its link from 1: resume there, after its first message on.
        link_epoch_ = 0;
        want_resume_ = true;
    }
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
    if (!writer_) return;
    if (writer_->buffered_bytes() > 0) {
        (void)writer_->flush();  // an error is the writer's last_error(): health reports it
        check_health(ctx);
    }
    if (!link_) return;
    if (writer_->dropped_records() != dropped_seen_) {
        // A failed write dropped buffered records: what is written is all we have. The
        // broker still keeps the rest (not acknowledged): resume after what is written.
        dropped_seen_ = writer_->dropped_records();
        pos_ = written_;
        link_epoch_ = 0;
        want_resume_ = true;
    } else if (writer_->buffered_bytes() == 0) {
        written_ = pos_;
    }
    drive_link(ctx);
}

bool journal_node::on_recorder_seq(runtime::context& ctx, std::uint64_t epoch, std::uint64_t seq) {
    // While a recorder_resume is on its way the broker may already be sending again: its reply
    // comes on the control socket, which the runtime reads after the data. A (epoch, seq) names
    // one message, so the one after the last stored is taken all the same.
    const bool in_flight = link_epoch_ == 0 && resuming_ && epoch == resume_epoch_;
    if (!link_ || (!in_flight && (link_epoch_ == 0 || epoch != link_epoch_))) return false;
    const std::uint64_t last = pos_.epoch == epoch ? pos_.seq : 0;
    if (seq <= last) return false;
    if (seq != last + 1) {
        // Ahead: sent before our resume rewound the link (they come again), or lost on the
        // way (a reconnect): then only a new resume brings them.
        if (ahead_since_ms_ == 0) ahead_since_ms_ = ctx.mono_ms();
        ahead_seq_ = seq;
        resume_if_stuck(ctx);
        return false;
    }
    ahead_since_ms_ = 0;
    if (need_mark_ || since_mark_ >= mark_every_records) {
        store(ctx, format::recorder_mark_topic, encode_recorder_mark(epoch, seq), ctx.now_ns(),
              format::flags::recorder_mark);
        need_mark_ = false;
        since_mark_ = 0;
    }
    ++since_mark_;
    pos_ = {epoch, seq};
    return true;
}

void journal_node::drive_link(runtime::context& ctx) {
    if (!link_ || resuming_ || acking_ || ctx.session_id() == 0) return;
    if (want_resume_) {
        if (ctx.mono_ms() < next_resume_ms_) return;
        const std::uint64_t epoch = ctx.broker_epoch();
        const std::uint64_t after = pos_.epoch == epoch ? pos_.seq : 0;
        std::string req;
        schema::encode_control(
            schema::recorder_resume{ctx.node_name(), ctx.session_id(), epoch, after}, req);
        const bool same_epoch = pos_.epoch == epoch;
        const bool sent = ctx.send_control(std::move(req), [this, &ctx, epoch, after, same_epoch](
                                                               const schema::control_message* m) {
            resuming_ = false;
            const auto* ok = m ? std::get_if<schema::recorder_resume_reply>(m) : nullptr;
            if (ok != nullptr && ok->epoch == epoch) {
                on_resumed(ctx, *ok, same_epoch);
                return;
            }
            want_resume_ = true;
            next_resume_ms_ = ctx.mono_ms() + resume_retry_ms;
            const auto* e = m ? std::get_if<schema::error_reply>(m) : nullptr;
            const std::string why = e ? e->code + ": " + e->reason : "no reply";
            if (auto n = link_log_.hit()) {
                spdlog::warn("journal: recorder_resume after {} (epoch {}) not answered: {} ({})",
                             after, epoch, why, n);
            }
            // Recording nothing until the link resumes: say so where operators look.
            link_failing_ = true;
            ctx.report_health(schema::health::degraded,
                              "recorder link not resumed (retrying every second): " + why);
            if (e != nullptr && e->code == schema::error_code::bad_request && after != 0) {
                // The broker never sent what the log says we have (a log copied from another
                // desk?): take all it keeps rather than ask for the impossible forever.
                spdlog::error("journal: the broker refuses our link position {}: starting over",
                              after);
                pos_ = {};
                had_position_ = false;
            }
        });
        if (sent) {
            want_resume_ = false;
            resuming_ = true;
            resume_epoch_ = epoch;
            need_mark_ = true;  // the position jumps: a message taken before the reply is marked
        }
        return;
    }
    const std::int64_t now = ctx.mono_ms();
    if (link_epoch_ == 0 || written_.epoch != link_epoch_ || written_.seq <= acked_ ||
        now < next_ack_ms_) {
        return;
    }
    const std::uint64_t seq = written_.seq;
    std::string req;
    schema::encode_control(
        schema::recorder_ack{ctx.node_name(), ctx.session_id(), link_epoch_, seq}, req);
    const bool sent =
        ctx.send_control(std::move(req), [this, seq](const schema::control_message* m) {
            acking_ = false;
            if (m != nullptr && std::holds_alternative<schema::ok_reply>(*m)) {
                acked_ = std::max(acked_, seq);
                return;
            }
            const auto* e = m ? std::get_if<schema::error_reply>(m) : nullptr;
            if (auto n = link_log_.hit()) {
                spdlog::warn("journal: recorder_ack {} not taken: {} ({})", seq,
                             e ? e->code + ": " + e->reason : "no reply", n);
            }
        });
    if (sent) {
        acking_ = true;
        next_ack_ms_ = now + ack_every_ms;
    }
}

void journal_node::on_resumed(runtime::context& ctx, const schema::recorder_resume_reply& r,
                              bool same_epoch) {
    // What the log has of this epoch, messages taken while the reply was on its way included.
    const std::uint64_t have = pos_.epoch == r.epoch ? pos_.seq : 0;
    const std::uint64_t missing = r.first > have + 1 ? r.first - (have + 1) : 0;
    // A hole: what the log lacks was evicted. Not for a new log (it never had anything), and
    // not for a new epoch whose first messages came before the log existed.
    if (missing > 0 && had_position_) {
        schema::event ev{schema::envelope{ctx.node_name(), ++gap_event_seq_, ctx.now_ns(), 0},
                         schema::recorder_gap{r.epoch, have + 1, r.first, missing}};
        std::string body;
        schema::encode_event(ev, body);
        store(ctx, schema::topics::recorder_gap, body, ctx.now_ns(), 0);
        ++recorder_gaps_;
        spdlog::error(
            "journal: recorder link: messages {}..{} of epoch {} ({}) were evicted by the broker "
            "before this journal had them; recorder_gap recorded (risk and execution recovering "
            "across it start halted)",
            have + 1, r.first - 1, r.epoch, missing);
    } else {
        spdlog::info("journal: recorder link resumed at epoch {} seq {} (broker at {})", r.epoch,
                     std::max(r.first, have + 1), r.next - 1);
    }
    if (r.first - 1 > have) need_mark_ = true;  // the next message does not follow the last
    pos_ = {r.epoch, std::max(have, r.first - 1)};
    if (writer_->buffered_bytes() == 0) written_ = pos_;
    if (r.first - 1 < acked_ || !same_epoch) acked_ = 0;
    link_epoch_ = r.epoch;
    had_position_ = true;
    if (std::exchange(link_failing_, false)) {
        degraded_ = false;  // check_health() reports the writer's state afresh
        ctx.report_health(schema::health::healthy, "");
        check_health(ctx);
    }
    ahead_since_ms_ = 0;
    on_drained(ctx);
}

void journal_node::resume_if_stuck(runtime::context& ctx) {
    if (ahead_since_ms_ == 0 || resuming_) return;
    const std::int64_t waited = ctx.mono_ms() - ahead_since_ms_;
    if (waited < ahead_resume_ms) return;
    spdlog::warn("journal: recorder link: seq {} arrived, {} expected, for {} ms: resuming again",
                 ahead_seq_, pos_.seq + 1, waited);
    ahead_since_ms_ = 0;
    link_epoch_ = 0;
    want_resume_ = true;
    drive_link(ctx);
}

std::int64_t journal_node::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (!writer_) return 0;
    writer_->tick(now_ns);  // fdatasync when fsync_interval_ms is due (policy interval)
    check_health(ctx);
    // Waiting for a missing sequence number: ask again even when nothing more arrives (a quiet
    // bus would otherwise leave the link stuck until the next message).
    resume_if_stuck(ctx);
    const std::int64_t next = now_ns + cfg_.writer.fsync_interval_ms * 1'000'000;
    return ahead_since_ms_ != 0 ? std::min(next, now_ns + ahead_resume_ms * 1'000'000) : next;
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
