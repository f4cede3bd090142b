// tradebus-meanrev: a mean-reversion strategy node built out of tree against the installed SDK
// (README "Write your own node"). On each md.bar.<SYM> close it takes the z-score of the close
// against the last `window` closes: long when z <= -entry_z, short when z >= entry_z, flat once
// |z| <= exit_z. It publishes strategy.signal.<SYM>; risk decides, execution fills. The same
// executable backtests it: `tradebus-meanrev backtest --config DIR --data quotes.csv`.
#include <spdlog/fmt/fmt.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <deque>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <variant>
#include <vector>

#include "tradebus/cli/backtest.hpp"
#include "tradebus/runtime/node.hpp"
#include "tradebus/schema/topics.hpp"

namespace {

namespace schema = tradebus::schema;
namespace topics = tradebus::schema::topics;
using tradebus::runtime::context;
using tradebus::runtime::inbound;

struct meanrev_config {
    std::vector<std::string> symbols;
    std::int64_t window = 20, qty = 100;
    double entry_z = 2.0, exit_z = 0.5;
};

struct book {  // per symbol: the last closes and the position this node asked for
    std::deque<double> closes;
    schema::side held = schema::side::flat, before = schema::side::flat;
    std::uint64_t last_signal = 0;
};

class meanrev final : public tradebus::runtime::node_logic {
  public:
    explicit meanrev(meanrev_config cfg) : cfg_(std::move(cfg)) {
        for (const auto& s : cfg_.symbols) books_[s];
    }
    std::vector<std::string> subscriptions() const override {
        std::vector<std::string> subs;
        for (const auto& s : cfg_.symbols) {
            subs.push_back(topics::for_symbol(topics::md_bar, s));
            subs.push_back(topics::for_symbol(topics::rejected, s));
        }
        return subs;
    }
    std::vector<std::string> publications() const override { return {std::string(topics::signal)}; }

    void on_start(context& ctx) override {  // ids keep rising across restarts (risk dedups them)
        next_id_ = static_cast<std::uint64_t>(std::max<std::int64_t>(1, ctx.now_ns() / 1000));
        spdlog::info("meanrev {}: {} symbol(s), window {}, entry z {}, exit z {}", ctx.node_name(),
                     cfg_.symbols.size(), cfg_.window, cfg_.entry_z, cfg_.exit_z);
    }

    void on_event(context& ctx, const inbound& in) override {
        if (const auto* r = std::get_if<schema::order_rejected>(&in.ev.body)) {
            auto it = books_.find(r->symbol);  // our signal refused: we hold what we held before
            if (r->signal_src != ctx.node_name() || it == books_.end()) return;
            if (r->signal_id == it->second.last_signal) it->second.held = it->second.before;
            if (r->rule == "nothing_to_close") it->second.held = schema::side::flat;
            spdlog::info("meanrev: signal {} {} rejected: {}", r->signal_id, r->symbol, r->reason);
        } else if (const auto* b = std::get_if<schema::bar>(&in.ev.body)) {
            auto it = books_.find(b->symbol);  // a prefix match for another symbol: not ours
            if (it != books_.end() && b->close_px > 0) on_close(ctx, *b, it->second, in);
        }
    }

  private:
    void on_close(context& ctx, const schema::bar& b, book& bk, const inbound& in) {
        bk.closes.push_back(schema::from_fixed(b.close_px));
        if (bk.closes.size() > static_cast<std::size_t>(cfg_.window)) bk.closes.pop_front();
        if (bk.closes.size() < static_cast<std::size_t>(cfg_.window)) return;
        const double n = static_cast<double>(bk.closes.size());
        const double mean = std::accumulate(bk.closes.begin(), bk.closes.end(), 0.0) / n;
        double var = 0;
        for (double c : bk.closes) var += (c - mean) * (c - mean);
        const double sd = std::sqrt(var / n);
        if (sd <= 0) return;
        const double z = (bk.closes.back() - mean) / sd;
        schema::side want = bk.held;
        if (z <= -cfg_.entry_z) want = schema::side::buy;  // buy = long, sell = short
        if (z >= cfg_.entry_z) want = schema::side::sell;
        if (bk.held != schema::side::flat && std::abs(z) <= cfg_.exit_z) want = schema::side::flat;
        if (want == bk.held) return;
        schema::signal sig;
        sig.signal_id = next_id_++;
        sig.symbol = b.symbol;
        sig.dir = want;
        // Long from short buys both legs; FLAT names the size held (risk closes its own view).
        sig.qty =
            want != schema::side::flat && bk.held != schema::side::flat ? 2 * cfg_.qty : cfg_.qty;
        sig.confidence = std::min(1.0, std::abs(z) / (2 * cfg_.entry_z));
        sig.ref_px = b.close_px;
        sig.reason = fmt::format("close {:.4f} is {:+.2f} sd from the {}-bar mean {:.4f}",
                                 bk.closes.back(), z, cfg_.window, mean);
        bk.before = bk.held;
        bk.held = want;
        bk.last_signal = sig.signal_id;
        ctx.publish(topics::for_symbol(topics::signal, b.symbol), sig, in.ev.env.trace_id);
    }

    meanrev_config cfg_;
    std::map<std::string, book> books_;
    std::uint64_t next_id_ = 1;
};

// Reads [meanrev]; every problem is recorded in `own` (file:line:col: key: expected ...).
std::unique_ptr<tradebus::runtime::node_logic> make_meanrev(tradebus::common::section& own) {
    meanrev_config cfg;
    cfg.symbols = own.strings("symbols");
    if (cfg.symbols.empty()) own.error("symbols", "expected a non-empty array of symbols");
    for (const auto& s : cfg.symbols) {
        if (!topics::valid_symbol(s)) own.error("symbols", "\"" + s + "\" is not a valid symbol");
    }
    cfg.window = own.integer("window", cfg.window, 2, 10'000);
    cfg.entry_z = own.number("entry_z", cfg.entry_z, 0.01, 100.0);
    cfg.exit_z = own.number("exit_z", cfg.exit_z, 0.0, 100.0);
    if (cfg.exit_z >= cfg.entry_z) {
        own.error("exit_z",
                  fmt::format("expected less than entry_z ({}), got {}", cfg.entry_z, cfg.exit_z));
    }
    cfg.qty = own.integer("qty", cfg.qty, 1, 1'000'000);
    return std::make_unique<meanrev>(std::move(cfg));
}

}  // namespace

int main(int argc, char** argv) {
    // `tradebus-meanrev backtest --config DIR --data FILE`: this logic on recorded quotes, with
    // the built-in marketdata, risk and execution, on a simulated clock (README "Backtesting").
    if (tradebus::cli::backtest_requested(argc, argv)) {
        return tradebus::cli::backtest_main(argc, argv, "meanrev", &make_meanrev);
    }
    return tradebus::runtime::run_node(argc, argv, "meanrev", &make_meanrev);
}
