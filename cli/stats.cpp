// Per-topic rates and gaps for `tradebus sniff --stats` (stats.hpp).
#include "tradebus/cli/stats.hpp"

#include <algorithm>
#include <cstdio>

#include "text_table.hpp"
#include "tradebus/cli/format.hpp"

namespace tradebus::cli {

namespace {
std::string rate(double per_s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, per_s >= 100.0 ? "%.0f" : "%.1f", per_s);
    return buf;
}
}  // namespace

stats_table::stats_table(std::int64_t start_ms, std::size_t max_topics)
    : max_topics_(max_topics), start_ms_(start_ms), last_roll_ms_(start_ms), now_ms_(start_ms) {}

void stats_table::record(std::string_view topic, std::size_t bytes, const schema::envelope* env) {
    ++messages_;
    auto it = rows_.find(topic);
    if (it == rows_.end() && rows_.size() < max_topics_) {
        it = rows_.emplace(std::string(topic), row{}).first;
    }
    row& r = it == rows_.end() ? other_ : it->second;
    ++r.messages;
    ++r.interval_messages;
    r.bytes += bytes;
    r.interval_bytes += bytes;
    if (env == nullptr) {
        ++r.undecodable;
        ++undecodable_;
        return;
    }
    const auto seen = gaps_.observe(env->src, topic, env->seq, env->inc);
    auto src = r.gaps_by_source.find(env->src);
    if (src == r.gaps_by_source.end() && r.gaps_by_source.size() < max_sources_per_topic) {
        src = r.gaps_by_source.emplace(env->src, 0).first;
    }
    if (src != r.gaps_by_source.end() && seen.what == runtime::gap_tracker::outcome::gap) {
        src->second += seen.missing;
    }
}

void stats_table::roll(std::int64_t now_ms) {
    const double seconds =
        static_cast<double>(std::max<std::int64_t>(now_ms - last_roll_ms_, 1)) / 1000.0;
    const auto close = [&](row& r) {
        r.messages_per_s = static_cast<double>(r.interval_messages) / seconds;
        r.bytes_per_s = static_cast<double>(r.interval_bytes) / seconds;
        r.interval_messages = 0;
        r.interval_bytes = 0;
    };
    for (auto& [topic, r] : rows_) close(r);
    close(other_);
    last_roll_ms_ = now_ms;
    now_ms_ = now_ms;
}

std::string stats_table::render(std::size_t max_rows) const {
    using detail::text_table;
    std::vector<std::pair<const std::string*, const row*>> order;
    order.reserve(rows_.size());
    for (const auto& [topic, r] : rows_) order.emplace_back(&topic, &r);
    std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
        return a.second->messages > b.second->messages;  // map order breaks ties: by name
    });
    static const std::string other_name = "(other topics)";
    if (other_.messages > 0) order.emplace_back(&other_name, &other_);

    text_table table({{"TOPIC"},
                      {"MSG/S", text_table::align::right},
                      {"BYTES/S", text_table::align::right},
                      {"TOTAL", text_table::align::right},
                      {"BYTES", text_table::align::right},
                      {"GAPS", text_table::align::right},
                      {"SOURCES (gaps)"}});
    std::uint64_t total_gaps = 0;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const row& r = *order[i].second;
        std::uint64_t topic_gaps = 0;
        std::string sources;
        for (const auto& [src, g] : r.gaps_by_source) {
            topic_gaps += g;
            if (!sources.empty()) sources += ", ";
            sources += printable(src) + "=" + std::to_string(g);
        }
        if (r.undecodable > 0) {
            if (!sources.empty()) sources += ", ";
            sources += "undecodable=" + std::to_string(r.undecodable);
        }
        total_gaps += topic_gaps;
        if (i >= max_rows) continue;
        table.add({printable(*order[i].first), rate(r.messages_per_s), format_bytes(r.bytes_per_s),
                   std::to_string(r.messages), format_bytes(static_cast<double>(r.bytes)),
                   std::to_string(topic_gaps), sources});
    }
    std::string out = table.render();
    if (order.size() > max_rows) {
        out += "... " + std::to_string(order.size() - max_rows) + " more topics\n";
    }
    out += std::to_string(rows_.size()) + " topics, " + std::to_string(messages_) + " messages, " +
           std::to_string(total_gaps) + " gaps, " + std::to_string(undecodable_) +
           " undecodable, over " + format_duration_ms(now_ms_ - start_ms_) + "\n";
    return out;
}

}  // namespace tradebus::cli
