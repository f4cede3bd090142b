// Argument parsing for `tradebus` (CLI11): the subcommands, their options and help texts, and
// the mapping of every failure to an exit code (app.hpp). The commands themselves live in
// sniff.cpp and control_commands.cpp.
#include "tradebus/cli/app.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <charconv>
#include <ostream>

#include "backtest_options.hpp"
#include "tradebus/cli/endpoints.hpp"
#include "tradebus/cli/journal_view.hpp"
#include "tradebus/cli/pattern.hpp"
#include "tradebus/cli/schema_dump.hpp"
#include "tradebus/cli/usage_error.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/node_config.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {
namespace {

constexpr const char* sniff_footer = R"(
Patterns (several allowed; a topic is shown when any matches; none = every topic):
  md.tick.AAPL   a plain prefix, as ZeroMQ matches it (also md.tick.AAPLX)
  md.tick.*      '*' is exactly one dot-separated token: md.tick.AAPL, not md.tick.A.B
  exec.>         a trailing '>' is one or more tokens: exec.fill.AAPL, exec.ack.SPY
The broker filters on each pattern's literal prefix (md.tick.); the rest is matched here.

Output: one line per event: time (publish time, local or --utc), topic, source#seq, and the
payload's key fields, prices as decimals. --json writes one JSON object per line with the
topic and every envelope and payload field exactly as on the wire: prices and money are
fixed-point integers in 1e-8 units, times are ns since the Unix epoch, enums their wire names
(jq '.data.bid_px / 1e8' gives the decimal). A message that does not decode (or has a type
this version does not know) is never dropped: it is shown as UNDECODABLE with the reason and
its bytes in hex ({"undecodable": "<reason>", "hex": ...} in JSON).

--last first prints the broker's cached last message of each matching topic (the broker's
[lvc] prefixes, by default md.tick. and md.bar.: the last quote and bar per symbol), marked
"(cached) " on a line and "cached": true in JSON, then follows live; a live message the cache
already showed is not shown again. It asks the control endpoint (--control or --config).

Examples:
  tradebus sniff                          everything
  tradebus sniff 'md.tick.*' 'exec.>'     ticks and everything from execution
  tradebus sniff --json --count 10 exec.fill. | jq .data.px
  tradebus sniff --last 'md.tick.*'       the last quote per symbol now, then live
  tradebus sniff --stats                  live per-topic rates, totals and gaps)";

constexpr const char* status_footer = R"(
Prints the broker's node table (state, last heartbeat, dependencies, counters), the start
order, the trading state, the busiest topics, drops by reason, uptime and epoch.
Exit code 1 when the broker does not answer within --timeout (it never hangs).)";

constexpr const char* trading_footer = R"(
Sent over the control plane; the broker saves it and publishes the new trading_state: for the
whole desk on sys.trading (risk stops approving orders at once, execution refuses new ones),
for one symbol (--symbol) on sys.trading.symbol.<SYMBOL> or one strategy node (--strategy) on
sys.trading.strategy.<NAME> (risk refuses that scope's signals, execution cancels its resting
orders), until `tradebus resume` with the same scope. --reduce-only (halt) lets only orders
that shrink a position through. `tradebus status` shows every scope in force. Exit code 1
when the broker refuses (a malformed symbol, a strategy that names no node it knows) or does
not answer within --timeout (then the state is unknown: check it with `tradebus status`).

Examples:
  tradebus halt --reason "end of day"
  tradebus halt --symbol AAPL --reason "news pending"
  tradebus halt --strategy strategy2 --reduce-only --reason "misbehaving: wind down"
  tradebus resume --symbol AAPL)";

constexpr const char* cancel_footer = R"(
Cancels resting orders at the execution node: one ORDER_ID, every resting order of --symbol,
or --all. The request goes to the broker's control endpoint and is authorized like halt (with
CURVE only an operator key may send it); the broker publishes it on sys.cancel, execution
cancels and answers on the data plane. Prints one line per cancelled order and the total.
Exit code 1 when the broker refuses, execution refuses (unknown order id, an order that is no
longer resting, a symbol it has no quote or order for) or nobody answers within --timeout.

Examples:
  tradebus cancel risk-1733390000123-7
  tradebus cancel --symbol AAPL --reason "news pending"
  tradebus cancel --all)";

constexpr const char* backtest_footer = R"(
Builds the marketdata, strategy, risk and execution logic from the node files in --config as
the live nodes build them, and runs them in this process on a simulated clock that jumps from
event to event (nothing sleeps): marketdata replays a CSV --data at its recorded times, every
message crosses an in-process bus with the live routing, envelopes and encoding, and is
journaled in OUT/journal (every `tradebus journal` command reads it). Then prints the run's
trading report (`tradebus journal report --utc` of that journal) and its performance (equity,
drawdown, Sharpe, Sortino, trades, win rate, time in market), and writes them with the equity
and drawdown charts to OUT/report.html. The same files, data and --seed give the same journal,
report and page, byte for byte. README "Backtesting".

--data DIR replays a journal (a desk's var/journal, or an earlier run's OUT/journal) instead:
its md.tick.* and md.bar.* records, each event at its recorded receive time, published by a
node named "replay" in place of marketdata (marketdata.toml is not read); every other record is
skipped. --from/--to keep only the data in [from, to), in UTC as the report shows times, in
the formats `tradebus journal cat --since` takes: 2024-03-15T13:31:00[.5][Z], 2024-03-15,
13:31 (today), -2h (before now), @1710509460.5 (seconds since the epoch). The data is checked
before the run, up to the end of the window: a bad CSV row, or a torn, corrupt or undecodable
journal record, stops the backtest with its file:line or segment:offset (exit 2).

--set KIND.PATH=V changes one setting of a node file for the run (strategy.fast_period=8);
several values (strategy.fast_period=5,8,13) make a sweep: every combination of every --set
runs as its own backtest in OUT/run-NNN, --jobs at a time, and one table ranks them by final
equity.

Examples:
  tradebus backtest --data config/data/sample_quotes.csv
  tradebus backtest --config my-nodes --data quotes.csv --latency-ms 2 --out var/bt-2ms --json
  tradebus backtest --data var/journal --from 2024-03-15T13:30 --to 2024-03-15T16:00
  tradebus backtest --data quotes.csv --set strategy.fast_period=5,8,13 \
                    --set strategy.slow_period=21,34 --jobs 2 --out var/sweep)";

constexpr const char* flatten_footer = R"(
Closes the desk's positions, or one --symbol's: execution cancels the resting orders first,
then risk sends one closing order per position (MARKET IOC, the whole position) and says what
it did on risk.flatten.<risk node>. Prints each cancelled order, each closing order and how it
ended, and what stays open. A closing order goes through reduce-only and a loss halt, never
through an operator's halt of the desk or the symbol (halt --reduce-only, then flatten).
Flatten does not halt: strategies may trade again after it. Running it again is harmless.
Exit code 0 when the scope is flat; 1 when something stays open (a halt, an IOC remainder
without liquidity, an order that had not reached execution), when the broker refuses, or
when risk does not answer within --timeout.

Examples:
  tradebus halt --reduce-only --reason "end of day" && tradebus flatten
  tradebus flatten --symbol AAPL --reason "news pending")";

constexpr const char* journal_footer = R"(
The journal node writes every bus message to a segmented, checksummed log. `cat` prints the
records in log order exactly as `sniff` shows live messages (the same line and JSON formats),
plus a JOURNAL GAP line where the journal saw a sequence gap; damaged records are reported on
stderr with their segment and offset and skipped (exit 1). `verify` checks every record and
lists every torn or corrupt one (exit 1 if any). `replay` republishes records into the bus
(original topics or under --prefix); `report` prints a per-day trading summary.)";

constexpr const char* journal_replay_footer = R"(
Publishes each matching record again through the broker's XSUB (--xsub, or --config with the
broker's TOML; default tcp://127.0.0.1:5550): the topic (with --prefix in front) and the body
byte for byte as journaled. The envelope is not rewritten: subscribers see the original src,
seq and ts_ns, so a live node that follows that src/topic will see the sequence go back (a
restart or gap). Replay under --prefix replay. so live nodes are not confused.

Skipped and counted in the summary: the journal's gap markers, undecodable records, and sys.*
topics (the broker drops every sys.* message that it did not publish itself; a --prefix that
moves them out of sys., e.g. replay.sys.trading, replays them).

Pacing: --speed 1 replays at the recorded pace (receive times), --speed 10 ten times faster,
--speed 0 (or max) as fast as the broker takes them (never dropping: replay waits when the queue is
full). Before sending, replay waits for the broker to forward its subscriptions (ZeroMQ's slow
joiner), at most --settle seconds, then a short quiet period; with none it sends nothing and
exits 1. A subscriber that subscribes after that point misses what was sent before.

--since / --until / --count and the patterns select as for cat (patterns match the original
topics). Exit 0 when done or stopped by Ctrl-C, 1 when the journal cannot be read or has
damaged records (they are reported on stderr and skipped), 2 on bad arguments.

Examples:
  tradebus journal replay --prefix replay. --speed 0 'md.tick.*'
  tradebus journal replay --since 2024-05-01T14:00 --until 2024-05-01T14:30 --speed 10 md.)";

constexpr const char* journal_report_footer = R"(
Per day (local days of the journal's receive times; UTC days with --utc), from the journal:
  fills, volume (sum of quantities), bought, sold, end-of-day position, average price and
    realized P&L per symbol, computed from exec.fill.* with average-cost accounting (buys
    and sells add to a position at its average cost; the opposite side realizes
    (price - average) x quantity for a long, the reverse for a short, and a fill larger than
    the position closes it and opens the other side at the fill price). Positions carry over
    from day to day within the journal; a journal that does not start flat gives P&L
    relative to its first fills.
  risk rejections by rule (risk.rejected.*), execution rejects by code (exec.reject.*),
  halts and resumes (trading_state on sys.trading and risk.state), and the sequence gaps and
    publisher restarts the journal recorded.
--json: one object, prices and money as fixed-point integers (1e-8 units) as on the wire.)";

constexpr const char* journal_cat_footer = R"(
--since / --until select by the time the journal received each record:
  2024-05-01T14:03:22  "2024-05-01 14:03"  2024-05-01   local time (UTC with --utc or a Z)
  14:03 / 14:03:22.5                                   that time today
  -10m, -90s, -2h, -1d                                 that long ago
  @1700000000                                          seconds since the Unix epoch
Patterns as for sniff: md.tick.*, exec.>, plain prefixes.)";

constexpr const char* bench_footer = R"(
Like `nats bench`: measures the broker you point it at, with real traffic on topics under
bench.<run>. (a random run id; nothing else subscribes there). First a status request must
be answered (exit 1 if not). Throughput: --pubs publishers each send --count events of --size
bytes (at --rate each, or as fast as possible), --subs subscribers receive them all and check
every publisher's sequence numbers, so "lost" is counted, not guessed; at full speed the
high-water marks (100000 on the broker and here) may drop messages, as they would for a node.
Round trip: A publishes --latency-count events at --latency-rate, B echoes each on another
topic, A times the round trip (percentiles in microseconds). Each part is bounded by
--duration (seconds). Exit codes: 0 measured (whatever the loss), 1 broker not answering or no
traffic getting through, 2 bad arguments.)";

constexpr const char* main_footer = R"(
Endpoints: every command talks to the broker on 127.0.0.1 by default (xpub :5551, control
:5552; journal replay and bench publish to xsub :5550); --config FILE reads them from the broker's
TOML (or a node's [broker] section), and --xpub / --control / --xsub override both. Exit codes: 0 ok, 1 runtime failure (broker not answering,
error reply), 2 bad arguments or config.
Run 'tradebus <command> --help' for a command's options.)";

// CURVE keys for a broker with [security] curve = true.
struct curve_flags {
    std::string key_file, broker_key, broker_key_file;

    void add(CLI::App* cmd) {
        cmd->add_option("--key-file", key_file,
                        "This client's key pair (NAME.key from tradebus keygen; mode 0600), for a "
                        "CURVE broker")
            ->type_name("FILE");
        cmd->add_option("--broker-key", broker_key, "The broker's public key (Z85), for CURVE")
            ->type_name("KEY");
        cmd->add_option("--broker-key-file", broker_key_file,
                        "The broker's public key file (broker.pub from tradebus keygen)")
            ->type_name("FILE");
    }

    [[nodiscard]] common::curve_client resolve(common::curve_client from_config) const {
        return curve_keys(std::move(from_config), key_file, broker_key, broker_key_file);
    }
};

// Options every command that talks to the broker shares.
struct endpoint_flags {
    std::string config, xpub, control;
    curve_flags keys;

    void add(CLI::App* cmd, bool with_xpub) {
        cmd->add_option("--config", config,
                        "Read the broker endpoints from this TOML file (the broker's config, or "
                        "a node's, whose [broker] section names them)")
            ->type_name("FILE");
        if (with_xpub) {
            cmd->add_option("--xpub", xpub,
                            "The broker's XPUB endpoint to subscribe on [default: " +
                                std::string(defaults::xpub_endpoint) + "]")
                ->type_name("ENDPOINT");
        }
        cmd->add_option("--control", control,
                        "The broker's control endpoint [default: " +
                            std::string(defaults::control_endpoint) + "]" +
                            (with_xpub ? " (sniff asks it only with --last)" : ""))
            ->type_name("ENDPOINT");
        keys.add(cmd);
    }

    [[nodiscard]] broker_endpoints resolve() const {
        broker_endpoints ep = config.empty() ? broker_endpoints{} : read_endpoints(config);
        if (!xpub.empty()) ep.xpub = connect_endpoint("--xpub", xpub);
        if (!control.empty()) ep.control = connect_endpoint("--control", control);
        ep.curve = keys.resolve(std::move(ep.curve));
        return ep;
    }
};

// Largest count or number of seconds accepted: far beyond any real use, and small enough that
// seconds converted to milliseconds cannot overflow.
constexpr double max_number = 1e12;

// A number check with a message a person can act on (CLI11's own says "Value x not in range
// 0.000000 to 1.79e308"). `whole`: digits only.
CLI::Validator positive(bool whole, bool allow_zero = false) {
    return CLI::Validator(
        [whole, allow_zero](std::string& text) -> std::string {
            double value = 0;
            const char* end = text.data() + text.size();
            const auto [p, ec] = std::from_chars(text.data(), end, value);
            const bool digits_only = text.find_first_not_of("0123456789") == std::string::npos;
            const bool in_range = (allow_zero ? value >= 0 : value > 0) && value <= max_number;
            if (ec != std::errc{} || p != end || !in_range || (whole && !digits_only)) {
                return std::string("expected ") + (whole ? "a whole number" : "a number") +
                       (allow_zero ? " >= 0" : " > 0") + " (at most 1e12), got \"" + text + "\"";
            }
            return {};
        },
        allow_zero ? "NONNEGATIVE" : "POSITIVE");
}

// An optional --symbol SYMBOL: empty, or a valid symbol (else a usage error naming the rule).
void check_symbol_option(const std::string& symbol) {
    if (!symbol.empty() && !schema::topics::valid_symbol(symbol)) {
        throw usage_error("--symbol \"" + symbol +
                          "\": expected 1..32 characters of [A-Za-z0-9_-/:]");
    }
}

CLI::Option* add_timeout(CLI::App* cmd, double& timeout_s) {
    return cmd
        ->add_option("--timeout", timeout_s,
                     "Seconds to wait for the broker's answer before giving up (exit 1)")
        ->type_name("SECONDS")
        ->check(positive(false))
        ->capture_default_str();
}

double parse_seconds(std::string_view option, const std::string& text, double fallback) {
    if (text.empty()) return fallback;
    double value = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || p != text.data() + text.size() || !(value > 0) || value > 86'400) {
        throw usage_error(std::string(option) + ": expected seconds (0 < s <= 86400), got \"" +
                          text + "\"");
    }
    return value;
}

// The journal node's default directory (nodes/journal read_config).
constexpr std::string_view default_journal_dir = "var/journal";

std::optional<std::int64_t> parse_time_option(std::string_view option, const std::string& text,
                                              std::int64_t now_ns, bool utc) {
    if (text.empty()) return std::nullopt;
    auto t = parse_time(text, now_ns, utc);
    if (!t) {
        throw usage_error(std::string(option) +
                          ": expected a time (2024-05-01T14:03:22, 14:03, -10m, @1700000000), "
                          "got \"" +
                          text + "\"");
    }
    return t;
}

bool valid_day(const std::string& day) {
    if (day.size() != 10 || day[4] != '-' || day[7] != '-') return false;
    for (std::size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
        if (day[i] < '0' || day[i] > '9') return false;
    }
    const int month = (day[5] - '0') * 10 + (day[6] - '0');
    const int mday = (day[8] - '0') * 10 + (day[9] - '0');
    return month >= 1 && month <= 12 && mday >= 1 && mday <= 31;
}

}  // namespace

int run(const std::vector<std::string>& args, environment& env) {
    CLI::App app{"tradebus: watch and operate a tradebus message bus", "tradebus"};
    app.set_version_flag("--version", std::string(common::version()), "Print the version and exit");
    app.require_subcommand(1);
    app.footer(main_footer);

    // ------------------------------------------------------------------ sniff
    sniff_options sniff;
    endpoint_flags sniff_ep;
    auto* sniff_cmd = app.add_subcommand(
        "sniff", "Watch events on the bus: readable lines, JSON lines or live per-topic stats");
    sniff_cmd->footer(sniff_footer);
    sniff_cmd->add_option("PATTERN", sniff.patterns,
                          "Topic patterns to show (prefixes, '*' = one token, trailing '>' = "
                          "the rest); none = every topic");
    auto* json_flag = sniff_cmd->add_flag(
        "--json", sniff.json,
        "One JSON object per line, every field exactly as on the wire (fixed-point ints)");
    auto* stats_flag = sniff_cmd->add_flag(
        "--stats", sniff.stats,
        "A live per-topic table (msgs/s, bytes/s, totals, gaps per source) every second "
        "instead of the events");
    json_flag->excludes(stats_flag);
    sniff_cmd->add_option("--count", sniff.count, "Stop after N messages (exit 0)")
        ->type_name("N")
        ->check(positive(true));
    sniff_cmd
        ->add_option("--duration", sniff.duration_s,
                     "Stop after SECONDS (fractions allowed; exit 0)")
        ->type_name("SECONDS")
        ->check(positive(false));
    auto* last_flag =
        sniff_cmd->add_flag("--last", sniff.last,
                            "Print each matching topic's last value from the broker's last-value "
                            "cache first (marked cached), then follow live without duplicates");
    last_flag->excludes(stats_flag);
    sniff_cmd->add_flag("--utc", sniff.utc, "Show times in UTC instead of local time");
    sniff_ep.add(sniff_cmd, true);

    // ------------------------------------------------------------------ status
    status_options status;
    endpoint_flags status_ep;
    std::string watch_text;
    auto* status_cmd =
        app.add_subcommand("status", "Show the broker's node table, topics and trading state");
    status_cmd->footer(status_footer);
    status_cmd->add_flag("--json", status.json,
                         "Print the broker's status reply as one JSON object (per refresh)");
    auto* watch_opt =
        status_cmd
            ->add_option("--watch", watch_text,
                         "Refresh every SECONDS (default 2) until Ctrl-C; a broker that stops "
                         "answering is reported and asked again")
            ->type_name("[SECONDS]")
            ->expected(0, 1);
    add_timeout(status_cmd, status.timeout_s);
    status_cmd->add_option("--topics", status.topics, "Rows of the topic table, busiest first")
        ->type_name("N")
        ->check(positive(true, true))
        ->capture_default_str();
    status_ep.add(status_cmd, false);

    // ------------------------------------------------------------------ halt / resume
    trading_options halt, resume;
    resume.halt = false;
    endpoint_flags halt_ep, resume_ep;
    const auto add_trading = [&](const char* name, const char* what, trading_options& opts,
                                 endpoint_flags& ep) {
        auto* cmd = app.add_subcommand(name, what);
        cmd->footer(trading_footer);
        cmd->add_option("--reason", opts.reason, "Why (shown in status and on the bus)")
            ->type_name("TEXT");
        cmd->add_option("--by", opts.by, "Who, instead of <$USER>@<host>")->type_name("TEXT");
        auto* symbol = cmd->add_option("--symbol", opts.symbol, "Only this symbol's trading")
                           ->type_name("SYMBOL");
        cmd->add_option("--strategy", opts.strategy,
                        "Only the signals of this strategy node (its node name)")
            ->type_name("NAME")
            ->excludes(symbol);
        add_timeout(cmd, opts.timeout_s);
        ep.add(cmd, false);
        return cmd;
    };
    auto* halt_cmd = add_trading(
        "halt",
        "Kill switch: halt trading of the desk, a symbol or a strategy (risk approves nothing "
        "in it, execution cancels its resting orders)",
        halt, halt_ep);
    halt_cmd->add_flag("--reduce-only", halt.reduce_only,
                       "Reduce-only instead of halted: only orders that shrink a position");
    auto* resume_cmd = add_trading("resume", "Resume trading of the desk, a symbol or a strategy",
                                   resume, resume_ep);

    // ------------------------------------------------------------------ cancel
    cancel_options cancel;
    endpoint_flags cancel_ep;
    auto* cancel_cmd =
        app.add_subcommand("cancel", "Cancel resting orders: one by id, a symbol's, or all");
    cancel_cmd->footer(cancel_footer);
    cancel_cmd->add_option("ORDER_ID", cancel.order_id, "The order to cancel (its order_id)");
    cancel_cmd->add_option("--symbol", cancel.symbol, "Cancel every resting order of SYMBOL")
        ->type_name("SYMBOL");
    cancel_cmd->add_flag("--all", cancel.all, "Cancel every resting order");
    cancel_cmd->add_option("--reason", cancel.reason, "Why (on the bus, in every cancellation)")
        ->type_name("TEXT");
    cancel_cmd->add_option("--by", cancel.by, "Who, instead of <$USER>@<host>")->type_name("TEXT");
    add_timeout(cancel_cmd, cancel.timeout_s);
    cancel_ep.add(cancel_cmd, true);

    // ------------------------------------------------------------------ flatten
    flatten_options flatten;
    endpoint_flags flatten_ep;
    auto* flatten_cmd = app.add_subcommand(
        "flatten", "Close positions: cancel resting orders, then send closing orders via risk");
    flatten_cmd->footer(flatten_footer);
    flatten_cmd->add_option("--symbol", flatten.symbol, "Only SYMBOL (default: every symbol)")
        ->type_name("SYMBOL");
    flatten_cmd->add_option("--reason", flatten.reason, "Why (on the bus, in every cancellation)")
        ->type_name("TEXT");
    flatten_cmd->add_option("--by", flatten.by, "Who, instead of <$USER>@<host>")
        ->type_name("TEXT");
    add_timeout(flatten_cmd, flatten.timeout_s);
    flatten_ep.add(flatten_cmd, true);

    // ------------------------------------------------------------------ bench
    bench_options bench;
    endpoint_flags bench_ep;
    std::string bench_xsub, bench_only;
    auto* bench_cmd = app.add_subcommand(
        "bench", "Measure a running broker: forwarding throughput, loss and round-trip latency");
    bench_cmd->footer(bench_footer);
    bench_cmd->add_option("--pubs", bench.publishers, "Publishers (one socket and thread each)")
        ->type_name("N")
        ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
        ->capture_default_str();
    bench_cmd->add_option("--subs", bench.subscribers, "Subscribers (one socket and thread each)")
        ->type_name("N")
        ->check(CLI::Range(std::size_t{1}, std::size_t{64}))
        ->capture_default_str();
    bench_cmd->add_option("--size", bench.size, "Bytes of each message body (an event)")
        ->type_name("BYTES")
        ->check(positive(true))
        ->capture_default_str();
    bench_cmd->add_option("--count", bench.count, "Messages per publisher")
        ->type_name("N")
        ->check(positive(true))
        ->capture_default_str();
    bench_cmd
        ->add_option("--rate", bench.rate,
                     "Messages per second per publisher; 0 = as fast as possible")
        ->type_name("N")
        ->check(positive(false, true))
        ->capture_default_str();
    bench_cmd
        ->add_option("--duration", bench.duration_s,
                     "Longest time each measurement may take, seconds")
        ->type_name("SECONDS")
        ->check(positive(false))
        ->capture_default_str();
    bench_cmd->add_option("--latency-rate", bench.latency_rate, "Round trips started per second")
        ->type_name("N")
        ->check(positive(false))
        ->capture_default_str();
    bench_cmd->add_option("--latency-count", bench.latency_count, "Round trips to time")
        ->type_name("N")
        ->check(positive(true))
        ->capture_default_str();
    bench_cmd->add_option("--only", bench_only, "Run only one part")
        ->type_name("throughput|latency")
        ->check(CLI::IsMember({"throughput", "latency"}));
    bench_cmd->add_flag("--json", bench.json, "Print the results as one JSON object");
    add_timeout(bench_cmd, bench.timeout_s);
    bench_ep.add(bench_cmd, true);
    bench_cmd->get_option("--control")
        ->description(
            "The broker's control endpoint, asked for status before measuring "
            "[default: " +
            std::string(defaults::control_endpoint) + "]");
    bench_cmd
        ->add_option("--xsub", bench_xsub,
                     "The broker's XSUB endpoint to publish to [default: " +
                         std::string(defaults::xsub_endpoint) + "]")
        ->type_name("ENDPOINT");

    // ------------------------------------------------------------------ journal
    journal_options jcat, jverify;
    replay_options jreplay;
    bool jreplay_utc = false;
    report_options jreport;
    std::string jreplay_config, jreplay_xsub, jreport_config, replay_since, replay_until;
    curve_flags jreplay_keys;
    std::string jcat_config, jverify_config, since_text, until_text;
    auto* journal_cmd =
        app.add_subcommand("journal",
                           "Read the journal: print (cat), republish (replay), summarize "
                           "(report) or check (verify) its records");
    journal_cmd->require_subcommand(1);
    journal_cmd->footer(journal_footer);
    const auto add_dir = [](CLI::App* cmd, journal_options& opts, std::string& config) {
        auto* dir = cmd->add_option("--dir", opts.dir,
                                    "The journal directory [default: var/journal, the journal "
                                    "node's default]")
                        ->type_name("DIR");
        cmd->add_option("--config", config,
                        "Take the directory from a journal node's TOML ([journal] dir)")
            ->type_name("FILE")
            ->excludes(dir);
    };
    auto* jcat_cmd =
        journal_cmd->add_subcommand("cat", "Print journaled records the way sniff shows them");
    jcat_cmd->footer(journal_cat_footer);
    jcat_cmd->add_option("PATTERN", jcat.patterns, "Topic patterns to show; none = every topic");
    add_dir(jcat_cmd, jcat, jcat_config);
    jcat_cmd->add_flag("--json", jcat.json, "One JSON object per line, fields as on the wire");
    jcat_cmd->add_flag("--utc", jcat.utc, "Show and read times in UTC instead of local time");
    jcat_cmd->add_option("--since", since_text, "Only records received at or after TIME")
        ->type_name("TIME");
    jcat_cmd->add_option("--until", until_text, "Only records received before TIME")
        ->type_name("TIME");
    jcat_cmd->add_option("--count", jcat.count, "Stop after N records")
        ->type_name("N")
        ->check(positive(true));
    auto* jverify_cmd = journal_cmd->add_subcommand(
        "verify", "Check every record's checksum; report torn or corrupt ones (exit 1 if any)");
    add_dir(jverify_cmd, jverify, jverify_config);
    jverify_cmd->add_flag("--json", jverify.json, "Print the report as one JSON object");

    auto* jreplay_cmd = journal_cmd->add_subcommand(
        "replay", "Republish journaled events into the bus (original topics or under a prefix)");
    jreplay_cmd->footer(journal_replay_footer);
    jreplay_cmd->add_option("PATTERN", jreplay.patterns,
                            "Topic patterns to replay (original topics); none = every topic");
    jreplay_cmd->add_option("--dir", jreplay.dir, "The journal directory [default: var/journal]")
        ->type_name("DIR");
    jreplay_cmd
        ->add_option("--config", jreplay_config,
                     "Read the broker's XSUB endpoint from this TOML (the broker's config, or "
                     "a node's [broker] xsub_endpoint)")
        ->type_name("FILE");
    jreplay_cmd
        ->add_option("--xsub", jreplay_xsub,
                     "The broker's XSUB endpoint to publish to [default: " +
                         std::string(defaults::xsub_endpoint) + "]")
        ->type_name("ENDPOINT");
    jreplay_keys.add(jreplay_cmd);
    jreplay_cmd
        ->add_option("--prefix", jreplay.prefix,
                     "Publish under PREFIX + the original topic (e.g. replay.), so live nodes "
                     "are not confused; also moves sys.* out of sys. so they are replayed")
        ->type_name("PREFIX");
    jreplay_cmd
        ->add_option("--speed", jreplay.speed,
                     "1 = recorded pace, N = N times faster, 0 or max = as fast as possible")
        ->type_name("N|max")
        ->transform(CLI::Validator(
            [](std::string& text) {
                if (text == "max") text = "0";
                return std::string();
            },
            ""))
        ->check(positive(false, true))
        ->capture_default_str();
    jreplay_cmd->add_option("--since", replay_since, "Only records received at or after TIME")
        ->type_name("TIME");
    jreplay_cmd->add_option("--until", replay_until, "Only records received before TIME")
        ->type_name("TIME");
    jreplay_cmd->add_option("--count", jreplay.count, "Stop after sending N records")
        ->type_name("N")
        ->check(positive(true));
    jreplay_cmd
        ->add_option("--settle", jreplay.settle_s,
                     "Longest wait for the broker's subscriptions before sending (exit 1 if "
                     "none arrive)")
        ->type_name("SECONDS")
        ->check(positive(false))
        ->capture_default_str();
    jreplay_cmd->add_flag("--utc", jreplay_utc, "Read --since/--until in UTC");

    auto* jreport_cmd = journal_cmd->add_subcommand(
        "report", "Per-day trading summary: fills, volume, realized P&L, rejections, halts");
    jreport_cmd->footer(journal_report_footer);
    {
        auto* dir = jreport_cmd
                        ->add_option("--dir", jreport.dir,
                                     "The journal directory [default: var/journal, the journal "
                                     "node's default]")
                        ->type_name("DIR");
        jreport_cmd
            ->add_option("--config", jreport_config,
                         "Take the directory from a journal node's TOML ([journal] dir), and "
                         "group by its [session] trading sessions instead of calendar days")
            ->type_name("FILE")
            ->excludes(dir);
    }
    jreport_cmd->add_option("--day", jreport.day, "Only this day (default: every day)")
        ->type_name("YYYY-MM-DD");
    jreport_cmd->add_flag("--utc", jreport.utc, "Group by UTC day instead of the local day");
    jreport_cmd->add_flag("--json", jreport.json, "Print the report as one JSON object");

    backtest_options backtest;
    auto* backtest_cmd = app.add_subcommand(
        "backtest",
        "Run marketdata, strategy, risk and execution on recorded quotes, on a simulated clock");
    backtest_cmd->footer(backtest_footer);
    add_backtest_options(*backtest_cmd, backtest);

    bool schema_json_flag = false;
    auto* schema_cmd = app.add_subcommand(
        "schema",
        "Print the wire schema as JSON: every event, control message and nested map with its "
        "keys and msgpack types, the enums, topics and limits (for clients in other languages)");
    schema_cmd->add_flag("--json", schema_json_flag, "JSON (the only format; may be left out)");

    keygen_options keygen;
    auto* keygen_cmd = app.add_subcommand(
        "keygen", "Make a CURVE key pair: DIR/NAME.key (secret, 0600) and DIR/NAME.pub");
    keygen_cmd->add_option("NAME", keygen.name, "The key's owner: a node name, or an operator's")
        ->required();
    keygen_cmd->add_option("--dir", keygen.dir, "Where to write the two files")
        ->type_name("DIR")
        ->capture_default_str();
    keygen_cmd->add_flag("--force", keygen.force, "Replace existing NAME.key / NAME.pub");

    try {
        // CLI11 would report an unknown command or option here as "A subcommand is required".
        if (args.size() > 1 && args[1].starts_with('-') && args[1] != "-h" && args[1] != "--help" &&
            args[1] != "--version") {
            throw usage_error("unknown option \"" + args[1] + "\" (see tradebus --help)");
        }
        if (args.size() > 1 && !args[1].empty() && args[1].front() != '-') {
            const auto& subs = app.get_subcommands({});
            if (std::none_of(subs.begin(), subs.end(),
                             [&](const CLI::App* s) { return s->check_name(args[1]); })) {
                throw usage_error("unknown command \"" + args[1] +
                                  "\" (commands: sniff, status, halt, resume, cancel, flatten, "
                                  "journal, bench, backtest, schema, keygen; see tradebus --help)");
            }
        }
        std::vector<std::string> reversed(args.rbegin(), args.rend());
        if (!reversed.empty()) reversed.pop_back();  // the program name
        app.parse(reversed);

        if (backtest_cmd->parsed()) return run_backtest(backtest, env);
        if (schema_cmd->parsed()) {
            env.out << schema_json();
            return 0;
        }
        if (keygen_cmd->parsed()) {
            if (!schema::topics::valid_node_name(keygen.name)) {
                throw usage_error("NAME: expected " + std::string(schema::topics::node_name_rule) +
                                  ", got \"" + keygen.name + "\"");
            }
            return run_keygen(keygen, env);
        }
        if (sniff_cmd->parsed()) {
            (void)topic_filter::parse(sniff.patterns);  // bad patterns are usage errors
            const broker_endpoints sniff_at = sniff_ep.resolve();
            sniff.xpub = sniff_at.xpub;
            sniff.control = sniff_at.control;
            env.curve = sniff_at.curve;
            return run_sniff(sniff, env);
        }
        if (status_cmd->parsed()) {
            if (watch_opt->count() > 0) status.watch_s = parse_seconds("--watch", watch_text, 2);
            const broker_endpoints ep = status_ep.resolve();
            status.control = ep.control;
            env.curve = ep.curve;
            return run_status(status, env);
        }
        for (auto [cmd, opts, ep] :
             {std::tuple{halt_cmd, &halt, &halt_ep}, std::tuple{resume_cmd, &resume, &resume_ep}}) {
            if (!cmd->parsed()) continue;
            if (auto bad = schema::trading_scope_error(opts->symbol, opts->strategy)) {
                throw usage_error("--symbol / --strategy: " + *bad);
            }
            if (opts->by.empty()) opts->by = operator_identity();
            if (opts->reason.empty()) {
                opts->reason =
                    opts->halt ? "halted from the command line" : "resumed from the command line";
            }
            const broker_endpoints resolved = ep->resolve();
            opts->control = resolved.control;
            env.curve = resolved.curve;
            return run_trading(*opts, env);
        }
        if (cancel_cmd->parsed()) {
            const int scopes = (cancel.order_id.empty() ? 0 : 1) + (cancel.symbol.empty() ? 0 : 1) +
                               (cancel.all ? 1 : 0);
            if (scopes != 1) {
                throw usage_error("give exactly one of ORDER_ID, --symbol SYMBOL and --all");
            }
            check_symbol_option(cancel.symbol);
            if (cancel.by.empty()) cancel.by = operator_identity();
            if (cancel.reason.empty()) cancel.reason = "cancelled from the command line";
            const broker_endpoints resolved = cancel_ep.resolve();
            cancel.xpub = resolved.xpub;
            cancel.control = resolved.control;
            env.curve = resolved.curve;
            return run_cancel(cancel, env);
        }
        if (flatten_cmd->parsed()) {
            check_symbol_option(flatten.symbol);
            if (flatten.by.empty()) flatten.by = operator_identity();
            if (flatten.reason.empty()) flatten.reason = "flattened from the command line";
            const broker_endpoints resolved = flatten_ep.resolve();
            flatten.xpub = resolved.xpub;
            flatten.control = resolved.control;
            env.curve = resolved.curve;
            return run_flatten(flatten, env);
        }
        if (bench_cmd->parsed()) {
            broker_endpoints ep = bench_ep.config.empty() ? broker_endpoints{}
                                                          : read_endpoints(bench_ep.config, true);
            if (!bench_xsub.empty()) ep.xsub = connect_endpoint("--xsub", bench_xsub);
            if (!bench_ep.xpub.empty()) ep.xpub = connect_endpoint("--xpub", bench_ep.xpub);
            if (!bench_ep.control.empty()) {
                ep.control = connect_endpoint("--control", bench_ep.control);
            }
            env.curve = bench_ep.keys.resolve(std::move(ep.curve));
            bench.xsub = ep.xsub;
            bench.xpub = ep.xpub;
            bench.control = ep.control;
            bench.throughput = bench_only != "latency";
            bench.latency = bench_only != "throughput";
            return run_bench(bench, env);
        }
        if (jreplay_cmd->parsed()) {
            (void)topic_filter::parse(jreplay.patterns);
            if (jreplay.dir.empty()) jreplay.dir = std::string(default_journal_dir);
            if (auto error = schema::topics::prefix_error(jreplay.prefix)) {
                throw usage_error("--prefix \"" + jreplay.prefix + "\": " + *error);
            }
            broker_endpoints ep =
                jreplay_config.empty() ? broker_endpoints{} : read_endpoints(jreplay_config, true);
            if (!jreplay_xsub.empty()) ep.xsub = connect_endpoint("--xsub", jreplay_xsub);
            env.curve = jreplay_keys.resolve(std::move(ep.curve));
            jreplay.xsub = ep.xsub;
            const std::int64_t now = common::now_ns();
            jreplay.since_ns = parse_time_option("--since", replay_since, now, jreplay_utc);
            jreplay.until_ns = parse_time_option("--until", replay_until, now, jreplay_utc);
            if (jreplay.since_ns && jreplay.until_ns && *jreplay.since_ns >= *jreplay.until_ns) {
                throw usage_error("--since " + replay_since + " is not before --until " +
                                  replay_until);
            }
            return run_journal_replay(jreplay, env);
        }
        if (jreport_cmd->parsed()) {
            if (jreport.dir.empty()) {
                jreport.dir = jreport_config.empty() ? std::string(default_journal_dir)
                                                     : read_journal_dir(jreport_config);
                if (!jreport_config.empty()) jreport.session = read_config_session(jreport_config);
            }
            if (!jreport.day.empty() && !valid_day(jreport.day)) {
                throw usage_error("--day: expected YYYY-MM-DD, got \"" + jreport.day + "\"");
            }
            return run_journal_report(jreport, env);
        }
        for (auto [cmd, opts, config] : {std::tuple{jcat_cmd, &jcat, &jcat_config},
                                         std::tuple{jverify_cmd, &jverify, &jverify_config}}) {
            if (!cmd->parsed()) continue;
            if (opts->dir.empty()) {
                opts->dir =
                    config->empty() ? std::string(default_journal_dir) : read_journal_dir(*config);
            }
            if (cmd == jverify_cmd) return run_journal_verify(*opts, env);
            (void)topic_filter::parse(opts->patterns);
            const std::int64_t now = common::now_ns();
            opts->since_ns = parse_time_option("--since", since_text, now, opts->utc);
            opts->until_ns = parse_time_option("--until", until_text, now, opts->utc);
            if (opts->since_ns && opts->until_ns && *opts->since_ns >= *opts->until_ns) {
                throw usage_error("--since " + since_text + " is not before --until " + until_text);
            }
            return run_journal_cat(*opts, env);
        }
        return exit_code::usage;       // unreachable: require_subcommand(1)
    } catch (const CLI::Success& e) {  // --help, --version
        app.exit(e, env.out, env.err);
        return exit_code::ok;
    } catch (const CLI::ParseError& e) {
        const auto chosen = app.get_subcommands();
        const std::string cmd = chosen.empty() ? "" : chosen.front()->get_name() + " ";
        env.err << "tradebus: " << e.what() << "\nRun 'tradebus " << cmd << "--help' for usage.\n";
        return exit_code::usage;
    } catch (const usage_error& e) {
        env.err << "tradebus: " << e.what() << "\n";
        return exit_code::usage;
    } catch (const zmq::error_t& e) {
        env.err << "tradebus: " << e.what() << " (zmq errno " << e.num() << ")\n";
        return exit_code::failure;
    } catch (const std::exception& e) {
        env.err << "tradebus: " << e.what() << "\n";
        return exit_code::failure;
    }
}

}  // namespace tradebus::cli
