#include "tradebus/marketdata/fix_source.hpp"

#include <algorithm>
#include <optional>

#include "tradebus/schema/types.hpp"

namespace tradebus::marketdata {

namespace {

// Group member tags (FIX44.xml MDFullGrp / MDIncGrp; the instrument block of MDIncGrp only
// with its plain fields): a tag outside these ends the group, and the count then no longer
// matches, so the message is refused rather than misread.
constexpr int md_entry_date = 272, md_entry_time = 273;
#define TRADEBUS_MD_ENTRY_TAGS                                                                  \
    fix::tag::md_entry_px, 15, fix::tag::md_entry_size, md_entry_date, md_entry_time, 274, 275, \
        336, 625, 276, 277, 282, 283, 284, 286, 59, 432, 126, 110, 18, 287, 37, 299, 288, 289,  \
        346, 290, 546, 811, 58, 354, 355
constexpr std::initializer_list<int> full_members = {TRADEBUS_MD_ENTRY_TAGS};
constexpr std::initializer_list<int> inc_members = {TRADEBUS_MD_ENTRY_TAGS,
                                                    fix::tag::md_entry_type,
                                                    285,
                                                    278,
                                                    280,
                                                    fix::tag::symbol,
                                                    65,
                                                    48,
                                                    22,
                                                    460,
                                                    461,
                                                    167,
                                                    762,
                                                    200,
                                                    541,
                                                    207,
                                                    107,
                                                    291,
                                                    292,
                                                    451};
#undef TRADEBUS_MD_ENTRY_TAGS

enum class entry_type : std::uint8_t { bid, offer, trade };

std::optional<entry_type> type_from(std::optional<std::string_view> v) {
    if (v == "0") return entry_type::bid;
    if (v == "1") return entry_type::offer;
    if (v == "2") return entry_type::trade;
    return std::nullopt;
}

std::string shown(std::optional<std::string_view> v) {
    if (!v) return "(missing)";
    return "\"" + fix::printable(*v, 32) + "\"";
}

// A positive decimal price in fixed point.
std::optional<std::int64_t> price_of(std::optional<std::string_view> v) {
    if (!v) return std::nullopt;
    const auto p = schema::parse_fixed(*v);
    if (!p || *p <= 0) return std::nullopt;
    return p;
}

// A whole, non-negative number of lots ("100" or "100.0").
std::optional<std::int64_t> qty_of(std::optional<std::string_view> v) {
    if (!v) return std::nullopt;
    const auto q = schema::parse_fixed(*v);
    if (!q || *q % schema::price_scale != 0) return std::nullopt;
    return *q / schema::price_scale;
}

// MDEntryDate + MDEntryTime of an entry, when both are there and valid.
std::optional<std::int64_t> entry_time(const fix::message& m, const fix::message::entry& e) {
    const auto date = m.get(e, md_entry_date);
    const auto time = m.get(e, md_entry_time);
    if (!date || !time) return std::nullopt;
    std::string ts(*date);
    ts.push_back('-');
    ts.append(*time);
    return fix::parse_utc_timestamp(ts);
}

// One bid/offer/trade entry's values, checked.
struct entry_values {
    entry_type type = entry_type::bid;
    std::int64_t px = 0, qty = 0;
};

// Reads type, price and size of an entry that sets a value (a snapshot entry, a new or change).
// nullopt with `why` set when anything is wrong.
std::optional<entry_values> read_entry(const fix::message& m, const fix::message::entry& e,
                                       std::string& why) {
    entry_values v;
    const auto type = m.get(e, fix::tag::md_entry_type);
    const auto t = type_from(type);
    if (!t) {
        why = "MDEntryType (269) " + shown(type) + " is not 0 (bid), 1 (offer) or 2 (trade)";
        return std::nullopt;
    }
    v.type = *t;
    const auto px_text = m.get(e, fix::tag::md_entry_px);
    const auto px = price_of(px_text);
    if (!px) {
        why = "MDEntryPx (270) " + shown(px_text) + " is not a positive decimal price";
        return std::nullopt;
    }
    const auto qty_text = m.get(e, fix::tag::md_entry_size);
    const auto qty = qty_of(qty_text);
    if (!qty || (v.type == entry_type::trade && *qty == 0)) {
        why = "MDEntrySize (271) " + shown(qty_text) + " is not a whole " +
              (v.type == entry_type::trade ? "positive" : "non-negative") + " size";
        return std::nullopt;
    }
    v.px = *px;
    v.qty = *qty;
    return v;
}

}  // namespace

fix_quote_book::fix_quote_book(std::vector<std::string> symbols) : symbols_(std::move(symbols)) {
    for (const auto& s : symbols_) books_[s].top.symbol = s;
}

std::string fix_quote_book::request_body(std::string_view md_req_id) const {
    fix::body b;
    b.add(fix::tag::md_req_id, md_req_id)
        .add(fix::tag::subscription_request_type, "1")
        .add(fix::tag::market_depth, "1")
        .add(fix::tag::md_update_type, "1")
        .add(fix::tag::no_md_entry_types, "3")
        .add(fix::tag::md_entry_type, "0")
        .add(fix::tag::md_entry_type, "1")
        .add(fix::tag::md_entry_type, "2")
        .add(fix::tag::no_related_sym, static_cast<std::int64_t>(symbols_.size()));
    for (const auto& s : symbols_) b.add(fix::tag::symbol, s);
    return b.str();
}

void fix_quote_book::reset(std::int64_t now_ns) {
    for (auto& [sym, st] : books_) {
        st.top = schema::tick{};
        st.top.symbol = sym;
        st.last_update_ns = now_ns;
    }
}

const schema::tick* fix_quote_book::book(std::string_view symbol) const {
    const auto it = books_.find(symbol);
    return it == books_.end() ? nullptr : &it->second.top;
}

std::vector<std::pair<std::string, std::int64_t>> fix_quote_book::stale(
    std::int64_t now_ns, std::int64_t stale_after_ns) const {
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& s : symbols_) {
        const auto& st = books_.find(s)->second;
        const std::int64_t quiet = now_ns - st.last_update_ns;
        if (quiet > stale_after_ns) out.emplace_back(s, quiet);
    }
    return out;
}

fix_apply_result fix_quote_book::apply(const fix::message& m, std::int64_t now_ns) {
    if (m.type() == "W") return apply_snapshot(m, now_ns);
    if (m.type() == "X") return apply_incremental(m, now_ns);
    return {};
}

fix_apply_result fix_quote_book::apply_snapshot(const fix::message& m, std::int64_t now_ns) {
    fix_apply_result r;
    const auto sym = m.get(fix::tag::symbol);
    if (!sym) {
        ++counters_.malformed;
        r.problems.push_back("snapshot (W) without Symbol (55)");
        return r;
    }
    const auto it = books_.find(*sym);
    if (it == books_.end()) {
        ++counters_.unknown_symbol;
        r.problems.push_back("snapshot (W) for " + shown(sym) + ", which is not subscribed");
        return r;
    }
    const auto entries =
        m.group(fix::tag::no_md_entries, fix::tag::md_entry_type, full_members, max_entries);
    if (!entries) {
        ++counters_.malformed;
        r.problems.push_back("snapshot (W) for " + std::string(*sym) +
                             ": NoMDEntries (268) missing, over " + std::to_string(max_entries) +
                             ", or not matching its entries");
        return r;
    }
    const std::int64_t sending =
        fix::parse_utc_timestamp(m.get(fix::tag::sending_time).value_or("")).value_or(now_ns);
    schema::tick t;
    t.symbol = it->first;
    t.exch_ts_ns = sending;
    bool have_time = false;
    for (const auto& e : *entries) {
        std::string why;
        const auto v = read_entry(m, e, why);
        if (!v) {
            ++counters_.malformed;
            r.problems.push_back("snapshot (W) for " + t.symbol + ": " + why);
            return r;  // a snapshot is the full state: all or nothing
        }
        switch (v->type) {
            case entry_type::bid:
                t.bid_px = v->px, t.bid_qty = v->qty;
                break;
            case entry_type::offer:
                t.ask_px = v->px, t.ask_qty = v->qty;
                break;
            case entry_type::trade:
                t.last_px = v->px, t.last_qty = v->qty;
                break;
        }
        if (const auto ts = entry_time(m, e); ts && !have_time) {
            t.exch_ts_ns = *ts;
            have_time = true;
        }
    }
    it->second.top = t;
    it->second.last_update_ns = now_ns;
    ++counters_.snapshots;
    counters_.entries += entries->size();
    r.ticks.push_back(t);
    return r;
}

fix_apply_result fix_quote_book::apply_incremental(const fix::message& m, std::int64_t now_ns) {
    fix_apply_result r;
    const auto entries =
        m.group(fix::tag::no_md_entries, fix::tag::md_update_action, inc_members, max_entries);
    if (!entries) {
        ++counters_.malformed;
        r.problems.push_back("incremental refresh (X): NoMDEntries (268) missing, over " +
                             std::to_string(max_entries) + ", or not matching its entries");
        return r;
    }
    const std::int64_t sending =
        fix::parse_utc_timestamp(m.get(fix::tag::sending_time).value_or("")).value_or(now_ns);
    struct changed {
        state* st;
        std::int64_t ts;
        std::int64_t last_px = 0, last_qty = 0;
    };
    std::vector<changed> touched;  // in the order first changed
    std::size_t applied = 0;
    for (const auto& e : *entries) {
        const auto action = m.get(e, fix::tag::md_update_action);
        if (action != "0" && action != "1" && action != "2") {
            ++counters_.malformed;
            r.problems.push_back("incremental refresh (X): MDUpdateAction (279) " + shown(action) +
                                 " is not 0 (new), 1 (change) or 2 (delete)");
            continue;
        }
        const auto sym = m.get(e, fix::tag::symbol);
        if (!sym) {
            ++counters_.malformed;
            r.problems.push_back("incremental refresh (X): an entry without Symbol (55)");
            continue;
        }
        const auto it = books_.find(*sym);
        if (it == books_.end()) {
            ++counters_.unknown_symbol;
            r.problems.push_back("incremental refresh (X) for " + shown(sym) +
                                 ", which is not subscribed");
            continue;
        }
        std::string why;
        entry_values v;
        if (action == "2") {
            const auto type = m.get(e, fix::tag::md_entry_type);
            const auto t = type_from(type);
            if (!t) {
                ++counters_.malformed;
                r.problems.push_back("incremental refresh (X) for " + it->first +
                                     ": MDEntryType (269) " + shown(type) +
                                     " is not 0 (bid), 1 (offer) or 2 (trade)");
                continue;
            }
            v.type = *t;
        } else if (const auto read = read_entry(m, e, why)) {
            v = *read;
        } else {
            ++counters_.malformed;
            r.problems.push_back("incremental refresh (X) for " + it->first + ": " + why);
            continue;
        }
        state& st = it->second;
        auto c = std::find_if(touched.begin(), touched.end(),
                              [&](const changed& x) { return x.st == &st; });
        if (c == touched.end()) {
            touched.push_back({&st, sending});
            c = touched.end() - 1;
        }
        if (const auto ts = entry_time(m, e)) c->ts = *ts;
        schema::tick& top = st.top;
        switch (v.type) {
            case entry_type::bid:
                top.bid_px = v.px, top.bid_qty = v.qty;
                break;
            case entry_type::offer:
                top.ask_px = v.px, top.ask_qty = v.qty;
                break;
            case entry_type::trade:
                // A trade prints once (new); a corrected or deleted trade changes no book.
                if (action == "0") {
                    top.last_px = c->last_px = v.px;
                    top.last_qty = c->last_qty = v.qty;
                }
                break;
        }
        st.last_update_ns = now_ns;
        ++applied;
    }
    if (applied > 0) ++counters_.incrementals;
    counters_.entries += applied;
    for (const auto& c : touched) {
        schema::tick t = c.st->top;
        t.last_px = c.last_px;
        t.last_qty = c.last_qty;
        t.exch_ts_ns = c.ts;
        r.ticks.push_back(std::move(t));
    }
    return r;
}

}  // namespace tradebus::marketdata
