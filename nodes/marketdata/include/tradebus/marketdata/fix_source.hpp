// Market data over FIX 4.4 for the marketdata node (source = "fix"): the pure part. A
// fix_quote_book keeps the top of book of each subscribed symbol and turns what the venue sends
// (MarketDataSnapshotFullRefresh W, MarketDataIncrementalRefresh X) into ticks, counts what it
// refuses (malformed entries, symbols never subscribed), and says which symbols went stale. No
// socket, no clock, no QuickFIX: the node (marketdata_node.cpp) owns the engine and the clock,
// so everything here is unit-testable with plain strings.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/wire.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::marketdata {

/// [marketdata.fix]: one FIX initiator session (fix::read_session) and what to subscribe.
struct fix_source_config {
    fix::session_settings session;
    std::vector<std::string> symbols;    // subscribed, in order; valid symbols, no duplicates
    std::int64_t stale_after_ms = 5000;  // a symbol without an update this long is stale
};

/// What the book counts (cumulative; the node logs them when it stops).
struct fix_book_counters {
    std::uint64_t snapshots = 0;       // W messages applied
    std::uint64_t incrementals = 0;    // X messages with at least one entry applied
    std::uint64_t entries = 0;         // entries applied (W and X)
    std::uint64_t unknown_symbol = 0;  // W messages / X entries for a symbol not subscribed
    std::uint64_t malformed = 0;       // W messages / X entries refused (see apply)
};

/// The outcome of one message: the ticks to publish (one per symbol it changed, in the order
/// first changed) and why whatever was refused was refused (for a rate-limited log line).
struct fix_apply_result {
    std::vector<schema::tick> ticks;
    std::vector<std::string> problems;
};

class fix_quote_book {
  public:
    /// Most entries read from one message (a longer group is refused as malformed).
    static constexpr std::size_t max_entries = 1024;

    explicit fix_quote_book(std::vector<std::string> symbols);

    /// The body of a MarketDataRequest (35=V) for every symbol: MDReqID `md_req_id`,
    /// snapshot + updates (263=1), top of book (264=1), incremental refresh (265=1), entry types
    /// bid, offer, trade (267=3: 269=0/1/2), NoRelatedSym (146) with one Symbol (55) each.
    [[nodiscard]] std::string request_body(std::string_view md_req_id) const;

    /// A new logon at `now_ns`: every book is cleared (the snapshot that follows the new
    /// request is the full state) and the staleness clock of every symbol restarts.
    void reset(std::int64_t now_ns);

    /// Applies a W or X message received at `now_ns` (other types: nothing). Ticks carry the
    /// symbol's top of book after the message, the trade the message printed (last_px/last_qty,
    /// 0/0 when none) and exch_ts_ns from the entry's MDEntryDate + MDEntryTime, else the
    /// message's SendingTime, else `now_ns`.
    /// W (one symbol, 55 in the body): replaces that symbol's book; refused whole (malformed)
    /// when the NoMDEntries group does not match its count or any entry is bad.
    /// X: every entry on its own (279 new/change/delete, 269, 55, 270, 271); a bad entry is
    /// refused, the others apply. A deleted side becomes 0 px / 0 qty.
    /// Bad = unknown MDEntryType or MDUpdateAction, price not a positive decimal, size not a
    /// whole non-negative number (a trade: positive), a missing field that the entry needs.
    fix_apply_result apply(const fix::message& m, std::int64_t now_ns);

    /// The subscribed symbols with no update for more than `stale_after_ns` at `now_ns`, and
    /// how long each has been quiet (ns), in subscription order.
    [[nodiscard]] std::vector<std::pair<std::string, std::int64_t>> stale(
        std::int64_t now_ns, std::int64_t stale_after_ns) const;

    /// The current top of book of `symbol` (last_px/last_qty: the last trade seen), or nullptr
    /// when not subscribed.
    [[nodiscard]] const schema::tick* book(std::string_view symbol) const;
    [[nodiscard]] const fix_book_counters& counters() const noexcept { return counters_; }
    [[nodiscard]] const std::vector<std::string>& symbols() const noexcept { return symbols_; }

  private:
    struct state {
        schema::tick top;  // last_px/last_qty: the last trade
        std::int64_t last_update_ns = 0;
    };
    fix_apply_result apply_snapshot(const fix::message& m, std::int64_t now_ns);
    fix_apply_result apply_incremental(const fix::message& m, std::int64_t now_ns);

    std::vector<std::string> symbols_;
    std::map<std::string, state, std::less<>> books_;
    fix_book_counters counters_;
};

}  // namespace tradebus::marketdata
