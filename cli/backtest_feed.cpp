// `tradebus backtest --data DIR`: a journal's market data replayed in place of marketdata
// (backtest.hpp: md_records, scan_journal, journal_feed).
#include <string>
#include <utility>

#include "tradebus/cli/backtest.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {

namespace topics = schema::topics;

namespace {

bool md_topic(std::string_view topic) {
    return topic.starts_with(topics::md_tick) || topic.starts_with(topics::md_bar);
}

std::string where(const journal::read_item& it) {
    return std::string(it.segment) + ":" + std::to_string(it.offset) + ": ";
}

}  // namespace

md_records::md_records(const std::string& dir, replay_window window)
    : reader_(dir), window_(window) {}

md_records::item* md_records::next() {
    while (!done_) {
        const journal::read_item* it = reader_.next();
        if (it == nullptr) break;
        if (it->what == journal::read_item::status::corrupt) {
            throw journal_data_error(where(*it) + std::string(it->reason));
        }
        const journal::record& rec = it->rec;
        if (!md_topic(rec.topic)) continue;
        // The journal's own records on md topics: a gap marker says what it never received.
        if ((rec.flags & journal::format::flags::gap_marker) != 0) {
            if (!window_.before(rec.recv_ts_ns) && !window_.after(rec.recv_ts_ns)) ++gap_markers_;
            continue;
        }
        if ((rec.flags & journal::format::flags::recorder_mark) != 0) continue;
        if (last_at_ && rec.recv_ts_ns < *last_at_) {
            throw journal_data_error(where(*it) + std::string(rec.topic) + " received at " +
                                     std::to_string(rec.recv_ts_ns) +
                                     " ns, earlier than the md record before it (" +
                                     std::to_string(*last_at_) + " ns)");
        }
        last_at_ = rec.recv_ts_ns;
        if (window_.after(rec.recv_ts_ns)) break;
        if (window_.before(rec.recv_ts_ns)) continue;
        auto decoded = schema::decode_event(rec.body);
        if (!decoded) {
            throw journal_data_error(where(*it) + std::string(rec.topic) +
                                     ": undecodable: " + decoded.error().to_string());
        }
        if (!topics::type_belongs(decoded->type_name(), rec.topic)) {
            throw journal_data_error(where(*it) + "a " + std::string(decoded->type_name()) +
                                     " event on " + std::string(rec.topic) +
                                     " (misrouted: md.tick.* carries ticks, md.bar.* bars)");
        }
        item_.index = rec.index;
        item_.at = rec.recv_ts_ns;
        item_.topic = rec.topic;
        item_.ev = std::move(decoded).value();
        return &item_;
    }
    done_ = true;
    return nullptr;
}

journal_scan scan_journal(const std::string& dir, const replay_window& window) {
    md_records records(dir, window);
    journal_scan scan;
    scan.segments = records.segments().size();
    while (const md_records::item* r = records.next()) {
        if (scan.records++ == 0) scan.first_ns = r->at;
        scan.last_ns = r->at;
        scan.last_index = r->index;
        ++(r->topic.starts_with(topics::md_tick) ? scan.ticks : scan.bars);
        std::visit(
            [&](const auto& body) {
                if constexpr (requires { body.symbol; }) ++scan.symbols[body.symbol];
            },
            r->ev.body);
    }
    scan.gap_markers = records.gap_markers();
    return scan;
}

journal_feed::journal_feed(std::string dir, replay_window window, journal_scan scan,
                           std::int64_t max_batch)
    : dir_(std::move(dir)), window_(window), scan_(scan), max_batch_(max_batch) {}

std::vector<std::string> journal_feed::publications() const {
    return {std::string(topics::md_tick), std::string(topics::md_bar)};
}

void journal_feed::on_start(runtime::context& /*ctx*/) { records_.emplace(dir_, window_); }

std::int64_t journal_feed::on_timer(runtime::context& ctx, std::int64_t now_ns) {
    if (finished_ || !records_) return 0;
    for (std::int64_t batch = 0;;) {
        if (pending_ == nullptr) {
            pending_ = records_->next();
            if (pending_ != nullptr && pending_->index > scan_.last_index) pending_ = nullptr;
            if (pending_ == nullptr) {
                finished_ = true;
                if (published_ != scan_.records) {
                    throw std::runtime_error(dir_ + ": the journal changed during the backtest: " +
                                             std::to_string(published_) +
                                             " md records replayed, the check before " +
                                             "the run found " + std::to_string(scan_.records));
                }
                ctx.request_stop("journal replay finished");
                return 0;
            }
        }
        if (pending_->at > now_ns) return pending_->at;
        if (batch == max_batch_) return now_ns;  // a burst: the deliveries due now go first
        ctx.publish_event(pending_->topic, std::move(pending_->ev));
        pending_ = nullptr;
        ++published_;
        ++batch;
    }
}

}  // namespace tradebus::cli
