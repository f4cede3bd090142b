// The broker's hash table keyed by topic, for the lookups made once per forwarded message (the
// per-topic counters, the last-value cache's index). A flat open-addressing table (linear
// probing): one control byte per slot (empty, deleted, or 7 bits of the topic's hash) and a
// parallel array of 64-byte rows, each holding a value, the full hash and, for topics of up to
// inline_bytes, the topic itself, so a lookup reads the control bytes (one cache line mostly)
// and one row. The topic is hashed once per lookup; nothing is allocated per lookup (the arrays
// only when the table grows, a longer topic's own copy when it is inserted).
//
// Load limit 7/8 of the slots, deleted slots included. remove() marks a slot deleted (or empty
// when the next slot is); an insert past the limit rebuilds the table: at the same size (which
// drops the deleted slots) unless over 7/16 of it is live, then doubled, so the table stays at
// most twice what its live rows need. Rows move only in a rebuild; layout() counts rebuilds.
// The owner bounds how many rows there are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>
#include <vector>

namespace tradebus::broker {

/// The hash of the topic table (exposed for its tests): 8 bytes a step, a 64x64->128-bit
/// multiply folded per step; every bit of the input reaches the top and bottom bits.
[[nodiscard]] std::uint64_t topic_hash(std::string_view topic) noexcept;

/// Slots of a topic_table holding `rows` within its load limit: the smallest power of two
/// (at least 16) of which `rows` fill at most 7/8.
[[nodiscard]] std::size_t topic_table_capacity(std::size_t rows) noexcept;

template <class V>
class topic_table {
  public:
    static constexpr std::size_t npos = static_cast<std::size_t>(-1);
    /// The longest topic kept in its row (64 bytes: the value, the hash, the size, the topic).
    static constexpr std::size_t inline_bytes =
        64 - sizeof(V) - sizeof(std::uint64_t) - sizeof(std::uint16_t);
    /// The longest topic the table takes.
    static constexpr std::size_t max_key_bytes = UINT16_MAX;

    /// A table sized for `rows` rows (it grows past them when needed).
    explicit topic_table(std::size_t rows) { rebuild(topic_table_capacity(rows)); }

    /// The slot holding `topic` (whose topic_hash is `h`), or npos.
    [[nodiscard]] std::size_t find(std::string_view topic, std::uint64_t h) const noexcept {
        const std::uint8_t tag = tag_of(h);
        // Ends: the load limit keeps at least one slot in eight empty.
        for (std::size_t i = h & mask_;; i = (i + 1) & mask_) {
            const std::uint8_t c = ctrl_[i];
            if (c == tag && same(rows_[i], h, topic)) return i;
            if (c == empty) return npos;
        }
    }
    [[nodiscard]] std::size_t find(std::string_view topic) const noexcept {
        return find(topic, topic_hash(topic));
    }

    /// Adds `topic` (not in the table; `h` its topic_hash) with a value-initialised value and
    /// returns its slot; npos when it is longer than max_key_bytes. May rebuild the table
    /// first. Throws only std::bad_alloc, and then `topic` is not in the table (which may have
    /// been rebuilt).
    std::size_t insert(std::string_view topic, std::uint64_t h) {
        if (topic.size() > max_key_bytes) return npos;
        const std::size_t cap = ctrl_.size();
        if (live_ + deleted_ + 1 > cap - cap / 8) {
            // Mostly live rows: double; mostly deleted slots: rebuild at the same size.
            rebuild((live_ + 1) * 16 > cap * 7 ? cap * 2 : cap);
        }
        std::uint32_t long_at = 0;
        if (topic.size() > inline_bytes) {
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
        if (topic.size() > inline_bytes) {
            std::memcpy(r.key, &long_at, sizeof long_at);
        } else {
            std::memcpy(r.key, topic.data(), topic.size());
        }
        ++live_;
        return i;
    }

    /// Removes the row in slot `s` (a full one).
    void remove(std::size_t s) noexcept {
        row& r = rows_[s];
        if (r.size > inline_bytes) {
            const std::uint32_t at = long_index(r);
            std::string().swap(long_[at]);  // frees its buffer
            try {
                long_free_.push_back(at);
            } catch (const std::bad_alloc&) {
                // The index stays unused: an empty string, no buffer.
            }
        }
        r.value = V{};
        // A probe stops at an empty slot; one followed by an empty slot may become empty too.
        if (ctrl_[(s + 1) & mask_] == empty) {
            ctrl_[s] = empty;
        } else {
            ctrl_[s] = deleted;
            ++deleted_;
        }
        --live_;
    }

    /// Slot `s` (< buckets()) holds a row.
    [[nodiscard]] bool used(std::size_t s) const noexcept { return is_full(ctrl_[s]); }
    [[nodiscard]] V& value(std::size_t s) noexcept { return rows_[s].value; }
    [[nodiscard]] const V& value(std::size_t s) const noexcept { return rows_[s].value; }
    [[nodiscard]] std::string_view key(std::size_t s) const noexcept { return key_of(rows_[s]); }
    /// Slot `s` holds `topic`: a compare without hashing (for a caller's "same as the previous
    /// lookup" shortcut).
    [[nodiscard]] bool holds(std::size_t s, std::string_view topic) const noexcept {
        const row& r = rows_[s];
        return is_full(ctrl_[s]) && r.size == topic.size() && key_of(r) == topic;
    }

    /// Rows in the table.
    [[nodiscard]] std::size_t size() const noexcept { return live_; }
    /// Slots, a power of two; changes only in a rebuild.
    [[nodiscard]] std::size_t buckets() const noexcept { return ctrl_.size(); }
    /// Rebuilds so far (rows moved; slots taken before are no longer valid).
    [[nodiscard]] std::uint64_t layout() const noexcept { return layout_; }

  private:
    struct row {  // one cache line
        V value{};
        std::uint64_t hash = 0;
        std::uint16_t size = 0;
        // The topic when size <= inline_bytes, else the index of its copy in long_ (uint32).
        char key[inline_bytes] = {};
    };
    static_assert(sizeof(row) == 64, "a row is one cache line: V of 8, 16, 24 ... bytes");
    static_assert(inline_bytes >= sizeof(std::uint32_t));

    static constexpr std::uint8_t empty = 0x80;    // never used: ends a probe
    static constexpr std::uint8_t deleted = 0xfe;  // removed: a probe goes on
    [[nodiscard]] static bool is_full(std::uint8_t c) noexcept { return c < 0x80; }
    [[nodiscard]] static std::uint8_t tag_of(std::uint64_t h) noexcept {
        return static_cast<std::uint8_t>(h >> 57);
    }
    [[nodiscard]] std::uint32_t long_index(const row& r) const noexcept {
        std::uint32_t i = 0;
        std::memcpy(&i, r.key, sizeof i);
        return i;
    }
    [[nodiscard]] std::string_view key_of(const row& r) const noexcept {
        if (r.size <= inline_bytes) return {r.key, r.size};
        return long_[long_index(r)];
    }
    [[nodiscard]] bool same(const row& r, std::uint64_t h, std::string_view topic) const noexcept {
        return r.hash == h && r.size == topic.size() && key_of(r) == topic;
    }

    /// Rebuilds the arrays with `capacity` slots and no deleted ones (may throw bad_alloc,
    /// before anything changed).
    void rebuild(std::size_t capacity) {
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
        ++layout_;
    }

    std::vector<std::uint8_t> ctrl_;  // size: a power of two; parallel to rows_
    std::vector<row> rows_;
    std::vector<std::string> long_;         // topics longer than inline_bytes
    std::vector<std::uint32_t> long_free_;  // reusable indices of long_
    std::size_t mask_ = 0;
    std::size_t live_ = 0;     // full slots
    std::size_t deleted_ = 0;  // deleted slots (count as used for the load limit)
    std::uint64_t layout_ = 0;
};

}  // namespace tradebus::broker
