#include "tradebus/broker/topic_counters.hpp"

#include <algorithm>
#include <new>

#include "tradebus/broker/defaults.hpp"

namespace tradebus::broker {

topic_counters::topic_counters(std::size_t max_tracked)
    : table_(std::min<std::size_t>(max_tracked, 1024)), max_tracked_(max_tracked) {}

topic_count& topic_counters::slot(std::string_view topic) noexcept {
    if (last_ != npos && table_.holds(last_, topic)) {
        topic_count& c = table_.value(last_);
        c.touched = true;
        return c;
    }
    const std::uint64_t h = topic_hash(topic);
    if (const std::size_t s = table_.find(topic, h); s != npos) {
        last_ = s;
        topic_count& c = table_.value(s);
        c.touched = true;
        return c;
    }
    if (table_.size() >= max_tracked_) return other_;
    last_ = npos;  // an insert may move the rows
    try {
        const std::size_t s = table_.insert(topic, h);
        if (s == npos) return other_;  // longer than any topic the table takes
        last_ = s;
        return table_.value(s);  // value-initialised: counts 0, touched
    } catch (const std::bad_alloc&) {
        // Counted under "other" rather than lost.
    }
    return other_;
}

std::size_t topic_counters::sweep(std::size_t from, std::size_t count) {
    std::size_t visited = 0;
    const std::size_t end = std::min(table_.buckets(), from + count);
    for (std::size_t s = from; s < end; ++s) {
        if (!table_.used(s)) continue;
        ++visited;
        topic_count& c = table_.value(s);
        if (c.touched) {
            c.touched = false;
            continue;
        }
        other_.messages += c.messages;
        other_.bytes += c.bytes;
        ++removed_;
        table_.remove(s);
        if (last_ == s) last_ = npos;
    }
    return visited;
}

const topic_count* topic_counters::find(std::string_view topic) const noexcept {
    const std::size_t s = table_.find(topic);
    return s == npos ? nullptr : &table_.value(s);
}

std::vector<schema::topic_status> topic_counters::busiest(std::size_t limit) const {
    using row_ref = std::pair<std::string_view, const topic_count*>;
    std::vector<row_ref> rows;
    rows.reserve(table_.size() + 1);
    for_each([&](std::string_view topic, const topic_count& c) { rows.emplace_back(topic, &c); });
    if (other_.messages > 0) rows.emplace_back(defaults::other_topic, &other_);
    const auto before = [](const row_ref& a, const row_ref& b) {
        if (a.second->messages != b.second->messages) {
            return a.second->messages > b.second->messages;
        }
        return a.first < b.first;
    };
    const std::size_t n = std::min(limit, rows.size());
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(n), rows.end(),
                      before);
    std::vector<schema::topic_status> out;
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(
            {std::string(rows[i].first), rows[i].second->messages, rows[i].second->bytes});
    }
    return out;
}

}  // namespace tradebus::broker
