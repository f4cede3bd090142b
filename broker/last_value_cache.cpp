#include "tradebus/broker/last_value_cache.hpp"

#include <algorithm>
#include <new>
#include <stdexcept>

#include "tradebus/schema/topics.hpp"

namespace tradebus::broker {

static_assert(schema::topics::max_topic_bytes <= topic_table<int*>::max_key_bytes,
              "every topic the cache takes fits its index");

last_value_cache::last_value_cache(std::vector<std::string> prefixes, std::size_t max_topics,
                                   std::size_t max_bytes)
    : prefixes_(std::move(prefixes)),
      max_topics_(max_topics),
      max_bytes_(max_bytes),
      index_(std::min<std::size_t>(max_topics, 1024)) {}

bool last_value_cache::covers(std::string_view topic) const noexcept {
    for (const auto& p : own_) {
        if (topic.starts_with(p)) return false;
    }
    for (const auto& p : prefixes_) {
        if (topic.starts_with(p)) return true;
    }
    return false;
}

void last_value_cache::add(std::string_view topic, std::uint64_t h, std::string_view body) {
    const std::size_t s = index_.insert(topic, h);  // not npos: at most max_topic_bytes
    try {
        index_.value(s) = entries_.emplace(std::string(topic), std::string(body)).first;
    } catch (...) {
        index_.remove(s);
        throw;
    }
}

void last_value_cache::remove(std::size_t s) noexcept {
    const map::iterator it = index_.value(s);
    bytes_ -= it->first.size() + it->second.size();
    entries_.erase(it);
    index_.remove(s);
}

void last_value_cache::update(std::string_view topic, std::string_view body) noexcept {
    if (topic.size() > schema::topics::max_topic_bytes) {
        ++refused_;
        return;
    }
    const std::uint64_t h = topic_hash(topic);
    const std::size_t s = index_.find(topic, h);
    if (s == npos) {
        // A refusal at the cap costs the lookup above and this compare.
        if (entries_.size() >= max_topics_ || bytes_ + topic.size() + body.size() > max_bytes_) {
            ++refused_;
            return;
        }
        try {
            add(topic, h, body);
        } catch (const std::bad_alloc&) {
            ++refused_;
            return;
        }
        bytes_ += topic.size() + body.size();
        ++updates_;
        return;
    }
    std::string& stored = index_.value(s)->second;
    const std::size_t others = bytes_ - topic.size() - stored.size();
    if (others + topic.size() + body.size() > max_bytes_) {
        remove(s);  // a stale value is worse than none
        ++refused_;
        return;
    }
    try {
        stored.assign(body);  // reuses the capacity of the previous body
    } catch (const std::bad_alloc&) {
        remove(s);  // assign left the previous body: its bytes go with it
        ++refused_;
        return;
    }
    bytes_ = others + topic.size() + body.size();
    ++updates_;
}

void last_value_cache::put_own(std::string_view topic, std::string_view body) {
    if (topic.size() > schema::topics::max_topic_bytes) {
        throw std::length_error("own topic longer than " +
                                std::to_string(schema::topics::max_topic_bytes) + " bytes");
    }
    const std::uint64_t h = topic_hash(topic);
    const std::size_t s = index_.find(topic, h);
    if (s == npos) {
        add(topic, h, body);
        bytes_ += topic.size() + body.size();
    } else {
        std::string& stored = index_.value(s)->second;
        const std::size_t before = stored.size();
        stored.assign(body);
        bytes_ = bytes_ - before + body.size();
    }
    ++updates_;
}

void last_value_cache::erase(std::string_view topic) noexcept {
    const std::size_t s = index_.find(topic);
    if (s != npos) remove(s);
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
