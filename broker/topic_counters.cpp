#include "tradebus/broker/topic_counters.hpp"

#include <algorithm>
#include <new>

#include "tradebus/broker/defaults.hpp"

namespace tradebus::broker {

namespace {

__extension__ typedef unsigned __int128 u128;

// The 64x64 -> 128-bit product, halves xor-folded (as wyhash's mum): every input bit moves
// both the low bits (the slot) and the top bits (the control byte's tag).
std::uint64_t fold_mul(std::uint64_t a, std::uint64_t b) noexcept {
    const u128 r = static_cast<u128>(a) * b;
    return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

std::uint64_t load8(const char* p) noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, p, sizeof w);
    return w;
}

constexpr std::uint64_t k0 = 0xa0761d6478bd642fULL;
constexpr std::uint64_t k1 = 0xe7037ed1a0b428dbULL;
constexpr std::uint64_t k2 = 0x8ebc6af09c88c6e3ULL;

// Smallest power of two (>= 16) holding `rows` within the load limit (7/8 of the slots).
std::size_t capacity_for(std::size_t rows) {
    std::size_t cap = 16;
    while (rows > cap - cap / 8) cap *= 2;
    return cap;
}

}  // namespace

std::uint64_t topic_hash(std::string_view topic) noexcept {
    const char* p = topic.data();
    const std::size_t size = topic.size();
    std::uint64_t h = k0 ^ size;
    std::size_t n = size;
    for (; n >= 8; n -= 8, p += 8) h = fold_mul(h ^ load8(p), k1);
    if (n > 0) {
        // The last 8 bytes (overlapping what was hashed) when there are that many, else the
        // few bytes there are, zero-padded; the size, hashed first, tells the two apart.
        std::uint64_t w = 0;
        if (size >= 8) {
            w = load8(topic.data() + size - 8);
        } else {
            std::memcpy(&w, p, n);
        }
        h = fold_mul(h ^ w, k2);
    }
    return fold_mul(h, k1 ^ k2);
}

topic_counters::topic_counters(std::size_t max_tracked) : max_tracked_(max_tracked) {
    rebuild(capacity_for(std::min<std::size_t>(max_tracked_, 1024)));
}

std::size_t topic_counters::find_slot(std::string_view topic, std::uint64_t h) const noexcept {
    const std::uint8_t tag = tag_of(h);
    // Ends: the load limit keeps at least one slot in eight empty.
    for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
        const std::uint8_t c = ctrl_[i];
        if (c == tag && same(rows_[i], h, topic)) return i;
        if (c == empty) return npos;
    }
}

topic_count& topic_counters::slot(std::string_view topic) noexcept {
    if (last_ != npos) {
        row& r = rows_[last_];
        if (r.size == topic.size() && key_of(r) == topic) {
            r.count.touched = true;
            return r.count;
        }
    }
    const std::uint64_t h = topic_hash(topic);
    if (const std::size_t s = find_slot(topic, h); s != npos) {
        last_ = s;
        rows_[s].count.touched = true;
        return rows_[s].count;
    }
    if (live_ >= max_tracked_ || topic.size() > UINT16_MAX) return other_;
    try {
        const std::size_t cap = ctrl_.size();
        if (live_ + deleted_ + 1 > cap - cap / 8) {
            // Mostly live rows: double; mostly deleted slots: rebuild at the same size.
            rebuild((live_ + 1) * 16 > cap * 7 ? cap * 2 : cap);
        }
        std::uint32_t long_at = 0;
        if (topic.size() > row::inline_bytes) {
            if (long_free_.empty()) {
                long_.emplace_back(topic);
                long_at = static_cast<std::uint32_t>(long_.size() - 1);
            } else {
                long_at = long_free_.back();
                long_[long_at].assign(topic);
                long_free_.pop_back();
            }
        }
        std::size_t i = h & mask_;
        while (is_full(ctrl_[i])) i = (i + 1) & mask_;
        if (ctrl_[i] == deleted) --deleted_;
        ctrl_[i] = tag_of(h);
        row& r = rows_[i];
        r = row{};
        r.hash = h;
        r.size = static_cast<std::uint16_t>(topic.size());
        if (topic.size() > row::inline_bytes) {
            std::memcpy(r.key, &long_at, sizeof long_at);
        } else {
            std::memcpy(r.key, topic.data(), topic.size());
        }
        ++live_;
        last_ = i;
        return r.count;
    } catch (const std::bad_alloc&) {
        // Counted under "other" rather than lost.
    }
    return other_;
}

void topic_counters::rebuild(std::size_t capacity) {
    std::vector<std::uint8_t> ctrl(capacity, empty);
    std::vector<row> rows(capacity);
    const std::size_t mask = capacity - 1;
    for (std::size_t s = 0; s < ctrl_.size(); ++s) {
        if (!is_full(ctrl_[s])) continue;
        std::size_t i = rows_[s].hash & mask;
        while (ctrl[i] != empty) i = (i + 1) & mask;
        ctrl[i] = ctrl_[s];
        rows[i] = rows_[s];
    }
    ctrl_.swap(ctrl);
    rows_.swap(rows);
    mask_ = mask;
    deleted_ = 0;
    last_ = npos;
    ++layout_;
}

void topic_counters::remove(std::size_t s) noexcept {
    row& r = rows_[s];
    if (r.size > row::inline_bytes) {
        const std::uint32_t at = long_index(r);
        std::string().swap(long_[at]);  // frees its buffer
        try {
            long_free_.push_back(at);
        } catch (const std::bad_alloc&) {
            // The index stays unused: an empty string, no buffer.
        }
    }
    // A probe stops at an empty slot; one followed by an empty slot may become empty too.
    if (ctrl_[(s + 1) & mask_] == empty) {
        ctrl_[s] = empty;
    } else {
        ctrl_[s] = deleted;
        ++deleted_;
    }
    --live_;
    if (last_ == s) last_ = npos;
}

std::size_t topic_counters::sweep(std::size_t from, std::size_t count) {
    std::size_t visited = 0;
    const std::size_t end = std::min(ctrl_.size(), from + count);
    for (std::size_t s = from; s < end; ++s) {
        if (!is_full(ctrl_[s])) continue;
        ++visited;
        topic_count& c = rows_[s].count;
        if (c.touched) {
            c.touched = false;
            continue;
        }
        other_.messages += c.messages;
        other_.bytes += c.bytes;
        ++removed_;
        remove(s);
    }
    return visited;
}

const topic_count* topic_counters::find(std::string_view topic) const noexcept {
    const std::size_t s = find_slot(topic, topic_hash(topic));
    return s == npos ? nullptr : &rows_[s].count;
}

std::vector<schema::topic_status> topic_counters::busiest(std::size_t limit) const {
    using row_ref = std::pair<std::string_view, const topic_count*>;
    std::vector<row_ref> rows;
    rows.reserve(live_ + 1);
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
