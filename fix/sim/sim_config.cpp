#include "tradebus/fix/sim/sim_config.hpp"

#include <algorithm>
#include <limits>

#include "tradebus/fix/config.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::fix::sim {

namespace {

void read_symbol(common::section& s, sim_symbol& p) {
    p.start_px = s.number("start_px", p.start_px, 1e-6, 1e9);
    p.volatility_bps = s.number("volatility_bps", p.volatility_bps, 0.0, 10'000.0);
    p.spread_bps = s.number("spread_bps", p.spread_bps, 0.0, 10'000.0);
    p.min_qty = s.integer("min_qty", p.min_qty, 1, 1'000'000'000);
    p.max_qty = s.integer("max_qty", p.max_qty, 1, 1'000'000'000);
    if (p.min_qty > p.max_qty) s.error("max_qty", "expected max_qty >= min_qty");
}

}  // namespace

sim_config read_sim_config(const toml::table& table, common::config_errors& errors) {
    sim_config c;
    common::section root(&table, "", errors);

    auto venue = root.table("venue", true);
    c.sender_comp_id = venue.string("sender_comp_id", c.sender_comp_id);
    if (!valid_comp_id(c.sender_comp_id)) {
        venue.error("sender_comp_id", "expected 1..64 printable ASCII characters without '='");
    }
    c.port = static_cast<int>(venue.integer("port", 0, 1, 65535, true));
    c.store_dir = venue.string("store_dir", "", true);
    if (venue.has("store_dir") && c.store_dir.empty()) {
        venue.error("store_dir", "expected a directory, got \"\"");
    }
    c.data_dictionary = venue.string("data_dictionary", "");
    if (c.data_dictionary.empty()) c.data_dictionary = default_dictionary();
    // The fallback is a sentinel no valid list holds: a type error (already recorded) gets it
    // back, and is not reported twice.
    const std::vector<std::string> unread{std::string(1, '\0')};
    c.clients = venue.strings("clients", unread);
    if (!venue.has("clients")) {
        venue.error("clients", "required: the client CompIDs the venue accepts");
        c.clients.clear();
    } else if (c.clients == unread) {
        c.clients.clear();
    } else if (c.clients.empty() || c.clients.size() > 64) {
        venue.error("clients", "expected 1..64 client CompIDs");
    } else {
        for (std::size_t i = 0; i < c.clients.size(); ++i) {
            const auto& id = c.clients[i];
            if (!valid_comp_id(id)) {
                venue.error("clients", "\"" + id +
                                           "\" is not a CompID (1..64 printable ASCII "
                                           "characters without '=')");
            } else if (id == c.sender_comp_id) {
                venue.error("clients", "\"" + id + "\" is the venue's own sender_comp_id");
            } else if (std::find(c.clients.begin(), c.clients.begin() + static_cast<long>(i), id) !=
                       c.clients.begin() + static_cast<long>(i)) {
                venue.error("clients", "\"" + id + "\" is listed twice");
            }
        }
    }
    c.control = venue.string("control", "");
    if (!c.control.empty()) {
        if (auto why = common::endpoint_error(c.control)) venue.error("control", *why);
    }
    c.max_orders_per_client =
        venue.integer("max_orders_per_client", c.max_orders_per_client, 1, 1'000'000);
    c.max_md_subscriptions =
        venue.integer("max_md_subscriptions", c.max_md_subscriptions, 1, 10'000);
    c.log_level = venue.choice("log_level", c.log_level,
                               {"trace", "debug", "info", "warn", "error", "critical", "off"});

    auto market = root.table("market");
    c.source = market.choice("source", c.source, {"synthetic", "none"});
    c.interval_ms = market.integer("interval_ms", c.interval_ms, 10, 3'600'000);
    c.seed = static_cast<std::uint64_t>(
        market.integer("seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
    c.tick_size = market.number("tick_size", c.tick_size, 1e-8, 1e6);
    sim_symbol dflt;  // defaults for every symbol, overridable per symbol
    read_symbol(market, dflt);
    auto syms = market.table("symbols");
    for (const auto& name : syms.table_keys()) {
        auto one = syms.table(name);
        if (!schema::topics::valid_symbol(name)) {
            syms.error(name, "expected a symbol of 1..32 [A-Za-z0-9_-/:]");
            continue;
        }
        sim_symbol p = dflt;
        p.symbol = name;
        read_symbol(one, p);
        c.symbols.push_back(std::move(p));
    }
    if (c.source == "synthetic" && c.symbols.empty()) {
        market.error("symbols",
                     "source \"synthetic\" needs at least one [market.symbols.<SYMBOL>] table");
    }
    if (c.symbols.size() > 1000) market.error("symbols", "expected at most 1000 symbols");
    root.finish();
    return c;
}

sim_config load_sim_config(const std::string& path) {
    common::config_errors errors(path);
    auto table = common::parse_config_file(path, errors);
    if (!table) {
        common::throw_if_errors(errors);
        throw common::config_error(path + ": cannot be read");
    }
    sim_config c = read_sim_config(*table, errors);
    common::throw_if_errors(errors);
    return c;
}

}  // namespace tradebus::fix::sim
