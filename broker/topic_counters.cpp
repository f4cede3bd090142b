#include "tradebus/broker/topic_counters.hpp"

#include <algorithm>
#include <new>

#include "tradebus/broker/defaults.hpp"

namespace tradebus::broker {

topic_counters::topic_counters(std::size_t max_tracked) : max_tracked_(max_tracked) {
    map_.reserve(std::min<std::size_t>(max_tracked_, 1024));
}

topic_count& topic_counters::slot(std::string_view topic) noexcept {
    if (last_ != nullptr && last_->first == topic) {
        last_->second.touched = true;
        return last_->second;
    }
    if (auto it = map_.find(topic); it != map_.end()) {
        last_ = &*it;
        it->second.touched = true;
        return it->second;
    }
    if (map_.size() < max_tracked_) {
        try {
            last_ = &*map_.emplace(std::string(topic), topic_count{}).first;
            return last_->second;
        } catch (const std::bad_alloc&) {
            // Fall through: counted under "other" rather than lost.
        }
    }
    return other_;
}

std::size_t topic_counters::sweep(std::size_t from, std::size_t count) {
    std::size_t visited = 0;
    const std::size_t end = std::min(map_.bucket_count(), from + count);
    for (std::size_t b = from; b < end; ++b) {
        // Collect first: erasing invalidates the bucket's local iterators.
        std::string_view idle[8];
        std::size_t n_idle = 0;
        for (auto it = map_.begin(b); it != map_.end(b); ++it) {
            ++visited;
            if (it->second.touched) {
                it->second.touched = false;
            } else if (n_idle < std::size(idle)) {  // a crowded bucket: the rest next pass
                idle[n_idle++] = it->first;
            }
        }
        for (std::size_t i = 0; i < n_idle; ++i) {
            auto it = map_.find(idle[i]);
            if (&*it == last_) last_ = nullptr;
            other_.messages += it->second.messages;
            other_.bytes += it->second.bytes;
            ++removed_;
            map_.erase(it);
        }
    }
    return visited;
}

const topic_count* topic_counters::find(std::string_view topic) const {
    auto it = map_.find(topic);
    return it == map_.end() ? nullptr : &it->second;
}

std::vector<schema::topic_status> topic_counters::busiest(std::size_t limit) const {
    using row = std::pair<std::string_view, const topic_count*>;
    std::vector<row> rows;
    rows.reserve(map_.size() + 1);
    for (const auto& [topic, c] : map_) rows.emplace_back(topic, &c);
    if (other_.messages > 0) rows.emplace_back(defaults::other_topic, &other_);
    const auto before = [](const row& a, const row& b) {
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
