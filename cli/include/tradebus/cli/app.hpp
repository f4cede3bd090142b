// The `tradebus` command: argument parsing (CLI11) and the subcommands. main.cpp hands argv
// and the standard streams to run(); tests call run() with string streams, and the
// subcommands directly with options, against in-process sockets.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "tradebus/common/curve.hpp"
#include "tradebus/runtime/session.hpp"

namespace tradebus::cli {

/// Exit codes (ARCHITECTURE.md "Errors at the boundaries"): 2 = usage or config, 1 = runtime
/// failure.
namespace exit_code {
inline constexpr int ok = 0;
inline constexpr int failure = 1;
inline constexpr int usage = 2;
inline constexpr int interrupted = 130;  // Ctrl-C during a one-shot request
}  // namespace exit_code

/// What a command writes to and talks through. main passes std::cout/std::cerr.
struct environment {
    std::ostream& out;
    std::ostream& err;
    zmq::context_t& zmq;
    bool out_is_tty = false;       // redraw --stats / --watch in place with ANSI escapes
    common::curve_client curve{};  // keys for a CURVE broker (--key-file...); empty = plaintext
};

struct sniff_options {
    std::vector<std::string> patterns;  // empty = every topic
    bool json = false;
    bool stats = false;
    bool last = false;
    bool utc = false;
    std::uint64_t count = 0;  // stop after this many messages; 0 = never
    double duration_s = 0;    // stop after this long; 0 = never
    std::string xpub;         // endpoint to connect the SUB socket to
    std::string control;      // --last: where to ask for the broker's cached values
    double timeout_s = 2;     // --last: longest wait for each snapshot reply
};

struct status_options {
    bool json = false;
    double watch_s = 0;  // refresh period; 0 = ask once
    double timeout_s = 2;
    std::size_t topics = 20;  // rows of the topic table (text view)
    std::string control;
};

struct trading_options {
    bool halt = true;  // false: resume
    std::string reason;
    std::string by;
    std::string symbol;        // the scope: one symbol ("" = not a symbol scope)
    std::string strategy;      // the scope: one strategy node ("" = not a strategy scope)
    bool reduce_only = false;  // halt only: reducing instead of halted
    double timeout_s = 2;
    std::string control;
};

struct cancel_options {
    std::string order_id;  // exactly one of order_id, symbol and all
    std::string symbol;
    bool all = false;
    std::string reason;
    std::string by;
    double timeout_s = 5;  // for the broker's reply, then again for execution's answer
    std::string xpub, control;
};

struct flatten_options {
    std::string symbol;  // "" = every symbol
    std::string reason;
    std::string by;
    double timeout_s = 10;  // for the broker's reply, risk's answer, the closing orders' ends
    std::string xpub, control;
};

struct journal_options {
    std::string dir;                    // the journal directory (segments journal-*.tjl)
    std::vector<std::string> patterns;  // cat: topics to show; empty = all
    bool json = false;
    bool utc = false;
    std::optional<std::int64_t> since_ns, until_ns;  // cat: receive-time window [since, until)
    std::uint64_t count = 0;                         // cat: stop after this many; 0 = never
};

struct replay_options {
    std::string dir;
    std::vector<std::string> patterns;  // topics to replay (original topics); empty = all
    std::string prefix;                 // prepended to every topic ("replay."); empty = none
    double speed = 1;                   // 1 = recorded pace, N = N times faster, 0 = no pauses
    std::optional<std::int64_t> since_ns, until_ns;  // receive-time window [since, until)
    std::uint64_t count = 0;                         // stop after this many sent; 0 = never
    double settle_s = 2;  // longest wait for the broker's subscriptions before sending
    std::string xsub;     // endpoint to connect the publishing socket to
};

struct report_options {
    std::string dir;
    std::string day;  // YYYY-MM-DD; empty = every day in the journal
    bool json = false;
    bool utc = false;  // group by UTC day (default: local day, as cat shows local times)
    /// Group by the desk's trading sessions instead of calendar days (--config FILE: its
    /// [session] table, README "Trading sessions").
    std::optional<runtime::trading_session> session;
};

struct bench_options {
    std::size_t publishers = 1, subscribers = 1;
    std::size_t size = 200;         // bytes of each message body (an event, padded)
    std::uint64_t count = 100'000;  // messages per publisher
    double rate = 0;                // per publisher, msgs/s; 0 = as fast as possible
    double duration_s = 10;         // bound on each measurement
    bool throughput = true, latency = true;
    double latency_rate = 1000;  // round trips started per second
    std::uint64_t latency_count = 5000;
    double timeout_s = 2;  // for the broker's answer to a status request
    bool json = false;
    std::string xsub, xpub, control;
};

/// Parses `args` (args[0] is the program name) and runs the chosen subcommand. Returns the
/// process exit code: 0 for --help/--version and success, 2 for bad arguments (the message
/// on env.err), otherwise the subcommand's code. Never throws.
int run(const std::vector<std::string>& args, environment& env);

/// `tradebus sniff`: subscribes to `xpub` and prints until --count/--duration or a stop
/// signal (common::stop_requested()). Returns 0 then; 1 on a socket error.
int run_sniff(const sniff_options& opts, environment& env);

/// `tradebus status`: one status request (or one per --watch period until a stop signal).
/// 0 on an answer; 1 when the broker does not answer within the timeout or replies with an
/// error (in --watch, a missing answer is reported and retried instead).
int run_status(const status_options& opts, environment& env);

/// `tradebus halt` / `tradebus resume`. 0 when the broker replies ok; 1 on an error reply
/// or no reply within the timeout (then the outcome is unknown, and the message says so).
int run_trading(const trading_options& opts, environment& env);

/// `tradebus cancel`: subscribes to execution's answers on `xpub`, sends a `cancel` request
/// to the broker (authorized like halt), then prints each order execution cancelled for it
/// and the total. 0 when execution carried it out (also with nothing to cancel); 1 when the
/// broker refuses or is silent, execution refuses (unknown order id, an order no longer
/// resting, an unknown symbol) or does not answer within the timeout.
int run_cancel(const cancel_options& opts, environment& env);

/// `tradebus flatten`: asks the broker to flatten (control `flatten`), prints the resting
/// orders execution cancelled, the closing orders risk sent and how each ended, and what was
/// left open. 0 when the scope is flat; 1 when not (a position left, an order still working,
/// a closing order not completely filled), when refused, or when nobody answered in time.
int run_flatten(const flatten_options& opts, environment& env);

/// `tradebus journal cat`: prints the records that match, in log order, as sniff would have.
/// Damaged records are reported on stderr (segment and offset) and skipped; returns 1 when
/// there were any, 0 otherwise; 1 when the directory cannot be read.
int run_journal_cat(const journal_options& opts, environment& env);

/// `tradebus journal verify`: checks every record's checksum and the index continuity and
/// prints every problem with its segment and offset. 0 when clean, 1 otherwise.
int run_journal_verify(const journal_options& opts, environment& env);

/// `tradebus journal replay`: republishes the matching records through a publisher connected
/// to `xsub`, bodies byte for byte, topics with the prefix; skips gap markers, undecodable
/// records and sys.* topics (the broker drops those) and prints a summary. 0 when done (or
/// stopped by a signal); 1 when the journal cannot be read, has damaged records, or no
/// subscription arrives within settle_s (nothing would be delivered).
int run_journal_replay(const replay_options& opts, environment& env);

/// `tradebus journal report`: per-day fills, volume, realized P&L (average cost), rejections
/// by rule, exec rejects by code, halts/resumes and journal gaps. 0 ok; 1 when the journal
/// cannot be read or has damaged records (the report is still printed).
int run_journal_report(const report_options& opts, environment& env);

struct backtest_options {
    std::string config_dir = "config/nodes";     // marketdata.toml, strategy.toml, risk.toml, ...
    std::string data;                            // the quotes to replay: a CSV or a journal dir
    std::string from, to;                        // --from/--to as given (UTC; parse_time)
    std::optional<std::int64_t> from_ns, to_ns;  // only the data in [from, to): from/to read
    std::string out = "var/backtest";            // the run's journal goes to OUT/journal
    double latency_ms = 0;                       // per hop, simulated
    std::uint64_t seed = 1;                      // trace ids
    bool json = false;
    bool force = false;              // replace OUT/journal when it holds an earlier run
    std::string log_level = "warn";  // the nodes' logs, on stderr
    std::vector<std::string> set;    // --set KIND.PATH=V1,V2,...: overrides, or a sweep's grid
    unsigned jobs = 0;               // a sweep's runs at once; 0 = one per CPU
    // The kinds to run, in the order they get each message; their files are CONFIG/KIND.toml.
    std::vector<std::string> nodes = {"marketdata", "strategy", "risk", "execution"};
};

/// `tradebus backtest`: the node files' marketdata, strategy, risk and execution on the data,
/// on a simulated clock in this process (README "Backtesting"); journals the run in
/// OUT/journal, prints its trading report (as `tradebus journal report --utc`) and its
/// performance (performance.hpp), and writes OUT/report.html.
int run_backtest(const backtest_options& opts, environment& env);

struct keygen_options {
    std::string name;  // NAME.key / NAME.pub; a node name ([a-z0-9_-])
    std::string dir = ".";
    bool force = false;  // replace existing files
};

/// `tradebus keygen`: a fresh CURVE key pair as DIR/NAME.key (0600) and DIR/NAME.pub (0644).
/// Prints the public key (only) on out, what it wrote on err. Refuses to overwrite without
/// --force (exit 1).
int run_keygen(const keygen_options& opts, environment& env);

/// `tradebus bench`: checks that the broker answers (1 when not), then measures forwarding
/// throughput and/or the round trip on topics under bench.<run>. and prints the results.
/// Throws usage_error for a --size below bench_min_size().
int run_bench(const bench_options& opts, environment& env);

/// Smallest --size: the bytes of a bench message's envelope and event fields.
[[nodiscard]] std::size_t bench_min_size();

/// The journal directory a journal node's TOML names ([journal] dir). Throws usage_error.
[[nodiscard]] std::string read_journal_dir(const std::string& path);
/// The trading session of a node's TOML ([session], defaults when absent); errors as
/// read_journal_dir's.
[[nodiscard]] runtime::trading_session read_config_session(const std::string& path);

/// "<user>@<host>" for the `by` of halt/resume: $USER, or "operator" when unset.
[[nodiscard]] std::string operator_identity();

}  // namespace tradebus::cli
