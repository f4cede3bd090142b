#include "tradebus/journal/query.hpp"

#include <algorithm>
#include <filesystem>

#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::journal {

std::string check_query(const schema::journal_query& q) {
    if (q.max_records <= 0) {
        return "max_records: expected >= 1, got " + std::to_string(q.max_records);
    }
    if (q.prefixes.size() > 64) {
        return "prefixes: expected at most 64, got " + std::to_string(q.prefixes.size());
    }
    for (const auto& p : q.prefixes) {
        if (p.size() > schema::topics::max_topic_bytes) {
            return "prefixes: a prefix of " + std::to_string(p.size()) + " bytes, limit " +
                   std::to_string(schema::topics::max_topic_bytes);
        }
    }
    return {};
}

query_page read_page(const std::string& dir, const schema::journal_query& q,
                     const query_limits& limits) {
    query_page page;
    page.next_index = q.from_index;
    const auto max_records = static_cast<std::size_t>(std::min(q.max_records, limits.max_records));
    const auto segments = list_segments(dir);
    std::vector<std::uint64_t> firsts;
    for (const auto& s : segments) {
        firsts.push_back(
            format::parse_segment_name(std::filesystem::path(s).filename().string()).value_or(0));
    }
    std::size_t bytes = 0;
    std::uint64_t scanned = 0;
    auto wanted = [&](const record& r) {
        if (r.flags != 0 || r.recv_ts_ns < q.since_ns) return false;
        if (q.prefixes.empty()) return true;
        return std::any_of(q.prefixes.begin(), q.prefixes.end(), [&](const std::string& p) {
            return schema::topics::matches(p, r.topic);
        });
    };
    for (std::size_t i = 0; i < segments.size(); ++i) {
        // Every record of this segment comes before from_index: skip the file.
        if (i + 1 < segments.size() && firsts[i + 1] <= q.from_index) continue;
        segment_reader seg(segments[i]);
        if (seg.header_error()) continue;
        for (;;) {
            const auto st = seg.next();
            if (st == segment_reader::step::end || st == segment_reader::step::fatal) break;
            if (st == segment_reader::step::damaged) {
                ++page.damaged;
                continue;
            }
            const record& r = seg.rec();
            if (r.index < q.from_index) continue;
            if (page.records.size() >= max_records || scanned >= limits.max_scanned ||
                (bytes > 0 && bytes + r.topic.size() + r.body.size() > limits.max_bytes)) {
                page.next_index = r.index;  // not taken: the next page starts here
                return page;
            }
            ++scanned;
            page.next_index = r.index + 1;
            if (!wanted(r)) continue;
            bytes += r.topic.size() + r.body.size();
            page.records.push_back({std::string(r.topic), std::string(r.body)});
        }
    }
    page.done = true;
    return page;
}

}  // namespace tradebus::journal
