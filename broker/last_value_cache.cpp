#include "tradebus/broker/last_value_cache.hpp"

#include <new>

namespace tradebus::broker {

last_value_cache::last_value_cache(std::vector<std::string> prefixes, std::size_t max_topics,
                                   std::size_t max_bytes)
    : prefixes_(std::move(prefixes)), max_topics_(max_topics), max_bytes_(max_bytes) {}

bool last_value_cache::covers(std::string_view topic) const noexcept {
    for (const auto& p : own_) {
        if (topic.starts_with(p)) return false;
    }
    for (const auto& p : prefixes_) {
        if (topic.starts_with(p)) return true;
    }
    return false;
}

void last_value_cache::update(std::string_view topic, std::string_view body) noexcept {
    auto it = entries_.find(topic);
    try {
        if (it == entries_.end()) {
            if (entries_.size() >= max_topics_ ||
                bytes_ + topic.size() + body.size() > max_bytes_) {
                ++refused_;
                return;
            }
            entries_.emplace(std::string(topic), std::string(body));
            bytes_ += topic.size() + body.size();
        } else {
            const std::size_t others = bytes_ - it->first.size() - it->second.size();
            if (others + it->first.size() + body.size() > max_bytes_) {
                bytes_ = others;
                entries_.erase(it);
                ++refused_;
                return;
            }
            it->second.assign(body);  // reuses the capacity of the previous body
            bytes_ = others + it->first.size() + body.size();
        }
        ++updates_;
    } catch (const std::bad_alloc&) {
        if (it != entries_.end()) {
            bytes_ -= it->first.size() + it->second.size();
            entries_.erase(it);
        }
        ++refused_;
    }
}

void last_value_cache::put_own(std::string_view topic, std::string_view body) {
    auto it = entries_.find(topic);
    if (it == entries_.end()) {
        entries_.emplace(std::string(topic), std::string(body));
        bytes_ += topic.size() + body.size();
    } else {
        bytes_ = bytes_ - it->second.size() + body.size();
        it->second.assign(body);
    }
    ++updates_;
}

void last_value_cache::erase(std::string_view topic) noexcept {
    auto it = entries_.find(topic);
    if (it == entries_.end()) return;
    bytes_ -= it->first.size() + it->second.size();
    entries_.erase(it);
}

void last_value_cache::snapshot(std::string_view prefix, std::string_view after,
                                std::size_t max_items, std::size_t max_bytes, page& out) const {
    out.items.clear();
    out.next.clear();
    auto it = after.empty() || after < prefix ? entries_.lower_bound(prefix)
                                              : entries_.upper_bound(after);
    std::size_t bytes = 0;
    for (; it != entries_.end() && std::string_view(it->first).starts_with(prefix); ++it) {
        const std::size_t size = it->first.size() + it->second.size();
        if (!out.items.empty() && (out.items.size() >= max_items || bytes + size > max_bytes)) {
            out.next = std::string(out.items.back().first);
            return;
        }
        out.items.emplace_back(it->first, it->second);
        bytes += size;
    }
}

}  // namespace tradebus::broker
