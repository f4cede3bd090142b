#include "suite.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <vector>
#include <zmq.hpp>

#include "backtest_rate.hpp"
#include "journal_rate.hpp"
#include "latency.hpp"
#include "orders_latency.hpp"
#include "peers.hpp"
#include "pipeline_latency.hpp"
#include "report.hpp"
#include "seq_scan.hpp"
#include "strategy_rate.hpp"
#include "stream.hpp"
#include "tradebus/schema/codec.hpp"

namespace tradebus::bench {

namespace {

using namespace std::chrono_literals;
using bench_clock = std::chrono::steady_clock;

// Counts and limits of one mode. Every run is bounded by a count and by a time limit.
struct budget {
    unsigned rounds;
    std::uint64_t fwd_messages;  // per publisher, 1 -> 1 (fan-out/in scale it down)
    std::uint64_t burst_messages;
    std::uint64_t lat_messages_1k, lat_messages_10k, lat_warmup;
    std::uint64_t journal_records, journal_every_records;
    std::uint64_t mem_fixed_warm, mem_fixed_long, mem_churn_topics;
    unsigned mem_churn_steps;
    std::uint64_t scale_messages;
    std::size_t scale_topics_max;
    unsigned scale_rounds;
    std::chrono::milliseconds run_limit;
    std::string codec_min_time;
    int codec_repetitions;
    std::uint64_t pl_quotes_1k, pl_quotes_10k;  // pipeline: recorded quotes per cell
    double pl_warmup_s, pl_step_s;              // warm-up, and each step of the rate ladder
    std::vector<double> pl_ladder;              // rates tried for the highest sustainable one
    std::uint64_t bt_ticks;                     // backtest: ticks per run
    unsigned bt_rounds;                         // backtest: engine runs per mode
    double py_step_s, py_warmup_s;              // python: each step of its ladder, warm-up
    std::vector<double> py_ladder;              // python: tick rates tried
    double or_rate;                             // orders: approvals per second
    std::uint64_t or_orders;                    // orders: recorded per round and venue
    unsigned or_rounds;                         // orders: alternated rounds per venue
    double or_warmup_s;                         // orders: warm-up of each round
    unsigned pe_rounds;                         // peers: alternated rounds per measurement
    std::uint64_t pe_messages;                  // peers: published per 1 -> 1 run
    std::uint64_t pe_fanout_messages;           // peers: published per 1 -> 3 run
    std::uint64_t pe_lat_messages;              // peers: latency, recorded per run
    std::uint64_t pe_lat_warmup;                // peers: latency, warm-up per run
};

budget full_budget() {
    return {.rounds = 9,
            .fwd_messages = 300'000,
            .burst_messages = 1'000'000,
            .lat_messages_1k = 5'000,
            .lat_messages_10k = 30'000,
            .lat_warmup = 500,
            .journal_records = 1'000'000,
            .journal_every_records = 5'000,
            .mem_fixed_warm = 100'000,
            .mem_fixed_long = 1'000'000,
            .mem_churn_topics = 50'000,
            .mem_churn_steps = 4,
            .scale_messages = 400'000,
            .scale_topics_max = 100'000,
            .scale_rounds = 3,
            .run_limit = 20'000ms,
            .codec_min_time = "0.1",
            .codec_repetitions = 3,
            .pl_quotes_1k = 5'000,
            .pl_quotes_10k = 30'000,
            .pl_warmup_s = 0.3,
            .pl_step_s = 2.0,
            .pl_ladder = {2'000, 5'000, 10'000, 15'000, 20'000, 30'000, 40'000, 60'000, 80'000,
                          120'000, 160'000},
            .bt_ticks = 1'000'000,
            .bt_rounds = 3,
            .py_step_s = 1.5,
            .py_warmup_s = 0.3,
            .py_ladder = {2'000, 5'000, 10'000, 15'000, 20'000, 30'000, 40'000, 60'000, 80'000,
                          120'000, 160'000, 240'000, 320'000},
            .or_rate = 200,
            .or_orders = 500,
            .or_rounds = 2,
            .or_warmup_s = 0.5,
            .pe_rounds = 3,
            .pe_messages = 300'000,
            .pe_fanout_messages = 150'000,
            .pe_lat_messages = 30'000,
            .pe_lat_warmup = 500};
}

budget quick_budget() {
    return {.rounds = 1,
            .fwd_messages = 20'000,
            .burst_messages = 50'000,
            .lat_messages_1k = 300,
            .lat_messages_10k = 2'000,
            .lat_warmup = 100,
            .journal_records = 50'000,
            .journal_every_records = 300,
            .mem_fixed_warm = 5'000,
            .mem_fixed_long = 20'000,
            .mem_churn_topics = 5'000,
            .mem_churn_steps = 2,
            .scale_messages = 10'000,
            .scale_topics_max = 10'000,
            .scale_rounds = 1,
            .run_limit = 8'000ms,
            .codec_min_time = "0.01",
            .codec_repetitions = 1,
            .pl_quotes_1k = 300,
            .pl_quotes_10k = 2'000,
            .pl_warmup_s = 0.1,
            .pl_step_s = 0.3,
            .pl_ladder = {2'000, 5'000},
            .bt_ticks = 20'000,
            .bt_rounds = 1,
            .py_step_s = 0.3,
            .py_warmup_s = 0.1,
            .py_ladder = {1'000, 2'000},
            .or_rate = 200,
            .or_orders = 100,
            .or_rounds = 1,
            .or_warmup_s = 0.2,
            .pe_rounds = 1,
            .pe_messages = 20'000,
            .pe_fanout_messages = 10'000,
            .pe_lat_messages = 2'000,
            .pe_lat_warmup = 100};
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const std::size_t n = v.size();
    return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// MB/s with enough digits to tell small rates (fsync every record) apart.
std::string fmt_mb(double v) { return fmt_fixed(v, v < 10 ? 2 : 1); }

std::string mib(std::uint64_t kib) { return fmt_fixed(static_cast<double>(kib) / 1024.0, 1); }

std::string pct(std::uint64_t part, std::uint64_t whole) {
    return whole == 0
               ? "0%"
               : fmt_fixed(100.0 * static_cast<double>(part) / static_cast<double>(whole), 1) + "%";
}

// "p50 188 / p90 257 / p99 1162 / p99.9 3370 / max 5215"
std::string fmt_percentiles(const percentiles& p) {
    return "p50 " + fmt_fixed(p.p50, 0) + " / p90 " + fmt_fixed(p.p90, 0) + " / p99 " +
           fmt_fixed(p.p99, 0) + " / p99.9 " + fmt_fixed(p.p999, 0) + " / max " +
           fmt_fixed(p.max, 0);
}

void progress(const std::string& line) { std::cerr << "tradebus-bench: " << line << std::endl; }

// The four long-lived targets of the bus sections: broker and bare proxy, on tcp and ipc.
struct targets {
    std::unique_ptr<bus_target> broker_tcp, bare_tcp, broker_ipc, bare_ipc;
    bus_target& broker(transport t) { return t == transport::tcp ? *broker_tcp : *broker_ipc; }
    bus_target& bare(transport t) { return t == transport::tcp ? *bare_tcp : *bare_ipc; }
};

class suite {
  public:
    suite(const suite_options& o, int argc, char** argv)
        : o_(o), b_(o.quick ? quick_budget() : full_budget()), argc_(argc), argv_(argv) {
        if (o_.rounds > 0) b_.rounds = o_.rounds;
        // The journal library logs its lifecycle at info; the table is the output here.
        spdlog::set_level(spdlog::level::warn);
        if (o_.keep_temp) dir_.keep();
    }

    int run() {
        const auto t0 = bench_clock::now();
        progress(std::string(o_.quick ? "quick" : "full") + " mode; temp dir " +
                 dir_.path().string());
        check_seq_scan();
        const auto wanted = [&](const char* s) { return o_.only.empty() || o_.only.count(s); };
        const bool bus = wanted("forwarding") || wanted("loss") || wanted("latency") ||
                         wanted("memory") || wanted("scaling");
        if (bus) guarded("setup", [&] { start_targets(); });
        if (bus && !t_.broker_tcp) {
            // Without targets no bus section can run; the others still can.
            for (const char* s : {"forwarding", "loss", "latency", "memory", "scaling"}) {
                if (wanted(s)) failed(s, "not run: the targets did not start");
            }
        } else {
            if (wanted("forwarding")) guarded("forwarding", [&] { forwarding(); });
            if (wanted("loss")) guarded("loss", [&] { loss(); });
            if (wanted("latency")) guarded("latency", [&] { latency(); });
        }
        if (wanted("pipeline")) guarded("pipeline", [&] { pipeline(); });
        if (wanted("codec")) guarded("codec", [&] { codec(); });
        if (wanted("journal")) guarded("journal", [&] { journal(); });
        if (t_.broker_tcp) {
            if (wanted("memory")) guarded("memory", [&] { memory(); });
            if (wanted("scaling")) guarded("scaling", [&] { scaling(); });
        }
        if (wanted("backtest")) guarded("backtest", [&] { backtest(); });
        if (o_.only.count("python") || (o_.only.empty() && !o_.quick)) {
            guarded("python", [&] { python(); });
        }
        if (o_.only.count("orders") || (o_.only.empty() && !o_.quick)) {
            guarded("orders", [&] { orders(); });
        }
        if (wanted("peers")) guarded("peers", [&] { peers(); });
        stop_targets();

        run_facts facts = collect_facts(o_.source_dir, argc_, argv_);
        facts.mode = o_.quick ? "quick" : "full";
        facts.seconds = std::chrono::duration<double>(bench_clock::now() - t0).count();
        std::cout << "\ntradebus-bench (" << facts.mode << ", " << fmt_fixed(facts.seconds, 0)
                  << " s; " << facts.machine << "; libzmq " << facts.libzmq
                  << "; shared noisy machine: compare ratios from the same run)\n\n"
                  << table_.text();
        std::string f = findings_.str();
        if (o_.quick && !f.empty()) {
            std::string head =
                "- quick mode: counts far too small for the numbers to mean anything; this run "
                "only checks that the suite works (run without --quick to measure)\n";
            f = head.append(f);
        }
        if (!f.empty()) std::cout << "\nfindings:\n" << f;
        std::cout.flush();
        if (!o_.markdown_path.empty()) {
            std::ofstream out(o_.markdown_path, std::ios::trunc);
            out << results_markdown(facts, table_, f);
            if (!out) {
                std::cerr << "tradebus-bench: cannot write " << o_.markdown_path << "\n";
                return 1;
            }
            progress("wrote " + o_.markdown_path);
        }
        return errors_ == 0 ? 0 : 1;
    }

  private:
    // ------------------------------------------------------------------ plumbing

    void guarded(const char* section, const std::function<void()>& body) {
        try {
            body();
        } catch (const std::exception& e) {
            failed(section, e.what());
        }
    }

    void failed(const std::string& section, const std::string& what) {
        ++errors_;
        std::cerr << "tradebus-bench: " << section << " failed: " << what << "\n";
        std::string first_line = what.substr(0, what.find('\n'));
        table_.add({section, "ERROR", "", "", "", first_line});
    }

    void finding(const std::string& text) { findings_ << "- " << text << "\n"; }

    // The fast seq scan the subscribers use must agree with the real decoder.
    static void check_seq_scan() {
        for (std::uint64_t seq : {1ULL, 127ULL, 128ULL, 65'535ULL, 65'536ULL, 4'294'967'296ULL}) {
            const std::string body = sample_tick_body("AAPL", seq);
            const auto fast = scan_seq(body);
            auto full = schema::decode_event(body);
            if (!full || !fast || *fast != seq || full.value().env.seq != seq) {
                throw std::runtime_error("seq scan disagrees with decode_event for seq " +
                                         std::to_string(seq));
            }
        }
    }

    void start_targets() {
        // Same HWMs on both: the bare proxy at the broker's defaults (100000), so the paced
        // comparison differs only in what the broker adds.
        const int hwm = 100'000;
        t_.broker_tcp = std::make_unique<bus_target>(
            ctx_, o_.exe, dir_,
            target_options{target_kind::broker, transport::tcp, 0, "", "broker-tcp"});
        t_.bare_tcp = std::make_unique<bus_target>(
            ctx_, o_.exe, dir_,
            target_options{target_kind::bare, transport::tcp, hwm, "", "bare-tcp"});
        t_.broker_ipc = std::make_unique<bus_target>(
            ctx_, o_.exe, dir_,
            target_options{target_kind::broker, transport::ipc, 0, "", "broker-ipc"});
        t_.bare_ipc = std::make_unique<bus_target>(
            ctx_, o_.exe, dir_,
            target_options{target_kind::bare, transport::ipc, hwm, "", "bare-ipc"});
        progress("targets up: broker and bare zmq_proxy on tcp (127.0.0.1) and ipc");
    }

    // SIGTERM to every target; each must exit 0 (a clean stop is part of what is measured).
    void stop_targets() {
        for (auto* t : {&t_.broker_tcp, &t_.bare_tcp, &t_.broker_ipc, &t_.bare_ipc}) {
            if (!*t) continue;
            const std::string what =
                std::string((*t)->name()) + " (" + std::string(to_string((*t)->via())) + ")";
            if (const int status = (*t)->stop(); status != 0) {
                failed("shutdown",
                       what + " exited with status " + std::to_string(status) + " on SIGTERM");
            }
            t->reset();
        }
    }

    std::string next_tag() {
        std::string tag = "R";  // (not "R" + to_string: GCC 12 -O3 -Wrestrict false positive)
        tag += std::to_string(++tag_);
        return tag;
    }

    // ------------------------------------------------------------------ forwarding

    void forwarding() {
        struct fwd_case {
            std::string name;
            transport via;
            std::size_t pubs, subs;
            std::uint64_t per_pub;
        };
        const std::uint64_t n = b_.fwd_messages;
        const std::vector<fwd_case> cases{
            {"1 pub -> 1 sub, tcp", transport::tcp, 1, 1, n},
            {"1 pub -> 1 sub, ipc", transport::ipc, 1, 1, n},
            {"1 pub -> 3 subs (fan-out), tcp", transport::tcp, 1, 3, n / 2},
            {"3 pubs -> 1 sub (fan-in), tcp", transport::tcp, 3, 1, n / 3},
        };
        const std::string body_size =
            std::to_string(sample_tick_body("RP0S000000", 1'000'000).size());
        bool all_lossless = true;
        for (const auto& c : cases) {
            // Per round: [0] broker, [1] bare. The ratio is the median of the per-round ratios
            // (each pair ran back to back, so machine drift hits both sides of a pair alike).
            std::vector<double> rates[2], ratios;
            double cpu[2] = {0, 0};
            std::uint64_t forwarded[2] = {0, 0}, lost[2] = {0, 0}, timeouts = 0;
            for (unsigned round = 0; round < b_.rounds; ++round) {
                // Alternate which target goes first, so drift on the machine hits both.
                const int order[2] = {round % 2 == 0 ? 0 : 1, round % 2 == 0 ? 1 : 0};
                double pair[2] = {0, 0};
                for (const int k : order) {
                    bus_target& t = k == 0 ? t_.broker(c.via) : t_.bare(c.via);
                    stream_options so;
                    so.publishers = c.pubs;
                    so.subscribers = c.subs;
                    so.messages_per_publisher = c.per_pub;
                    so.window = 1000;
                    so.time_limit = b_.run_limit;
                    so.symbol_tag = next_tag();
                    const stream_result r = run_stream(ctx_, t, so);
                    const std::uint64_t l = r.lost + r.gap_messages + r.bad_messages;
                    rates[k].push_back(r.delivered_per_s);
                    pair[k] = r.delivered_per_s;
                    cpu[k] += r.target_cpu_seconds;
                    forwarded[k] += r.sent;
                    lost[k] += l;
                    timeouts += r.timed_out ? 1 : 0;
                    progress("forwarding " + c.name + " round " + std::to_string(round + 1) + "/" +
                             std::to_string(b_.rounds) + ": " + std::string(t.name()) + " " +
                             fmt_rate(r.delivered_per_s) + ", lost " + std::to_string(l) +
                             ", target CPU " + fmt_fixed(r.target_cpu_seconds, 2) + " s" +
                             (r.timed_out ? " (time limit hit)" : ""));
                }
                if (pair[1] > 0) ratios.push_back(pair[0] / pair[1]);
            }
            const double ratio = median(ratios);
            const auto [bmin, bmax] = std::minmax_element(rates[0].begin(), rates[0].end());
            const auto [rmin, rmax] = std::minmax_element(rates[1].begin(), rates[1].end());
            const auto us_per = [&](int k) {
                return fmt_fixed(
                    forwarded[k] > 0 ? cpu[k] * 1e6 / static_cast<double>(forwarded[k]) : 0, 2);
            };
            all_lossless = all_lossless && lost[0] == 0 && lost[1] == 0;
            std::string notes = "median of " + std::to_string(b_.rounds) + " alternated runs of " +
                                fmt_count(c.per_pub * c.pubs) +
                                " msgs (ratio: median of per-round ratios); range " +
                                fmt_rate(*bmin) + "-" + fmt_rate(*bmax) + " vs " + fmt_rate(*rmin) +
                                "-" + fmt_rate(*rmax) + "; target CPU us per msg in " + us_per(0) +
                                " vs " + us_per(1) + "; lost " + std::to_string(lost[0]) + "/" +
                                std::to_string(lost[1]);
            if (c.subs > 1) notes += "; rate = deliveries summed over subscribers";
            if (timeouts > 0) notes += "; " + std::to_string(timeouts) + " runs hit the time limit";
            table_.add({"forwarding", c.name + ", paced, events/s", fmt_rate(median(rates[0])),
                        fmt_rate(median(rates[1])), fmt_fixed(ratio, 2), notes});
            finding("forwarding " + c.name + ": broker/bare = " + fmt_fixed(ratio, 2) +
                    (ratio >= 0.9 ? " (target >= 0.9 met)" : " (target >= 0.9 MISSED)") +
                    "; CPU per message " + us_per(0) + " vs " + us_per(1) + " us");
        }
        finding(std::string("paced runs (window 1000 in flight, ~") + body_size +
                "-byte tick bodies): " +
                (all_lossless ? "zero loss and zero gaps on every run"
                              : "SOME LOSS in paced runs (see the lost column)"));
        note_peak_rss("after the paced runs");
    }

    void note_peak_rss(const std::string& when, const std::string& extra = "") {
        const auto bm = t_.broker_tcp->memory();
        const auto pm = t_.bare_tcp->memory();
        if (!bm || !pm) return;
        table_.add({"memory", "peak RSS (VmHWM), tcp targets, " + when, mib(bm->hwm_kib) + " MiB",
                    mib(pm->hwm_kib) + " MiB",
                    fmt_fixed(static_cast<double>(bm->hwm_kib) /
                                  static_cast<double>(std::max<std::uint64_t>(pm->hwm_kib, 1)),
                              2),
                    "RSS now " + mib(bm->rss_kib) + " / " + mib(pm->rss_kib) + " MiB" + extra});
    }

    // ------------------------------------------------------------------ loss

    void loss() {
        // A full-speed burst, no flow control: with the project's defaults (broker and node
        // HWMs 100000) vs libzmq's defaults (1000) through the bare proxy, and the bare proxy
        // at 100000 too, to separate the HWM from the broker.
        bus_target bare_1000(
            ctx_, o_.exe, dir_,
            target_options{target_kind::bare, transport::tcp, 1000, "", "bare-1000"});
        struct burst_case {
            bus_target* t;
            int client_hwm;
            std::string label;
        };
        const std::vector<burst_case> cases{
            {t_.broker_tcp.get(), 100'000, "tradebus defaults (HWM 100000)"},
            {&bare_1000, 1000, "bare, libzmq default HWM 1000"},
            {t_.bare_tcp.get(), 100'000, "bare, HWM 100000"},
        };
        std::vector<stream_result> results;
        for (const auto& c : cases) {
            stream_options so;
            so.window = 0;
            so.messages_per_publisher = b_.burst_messages;
            so.client_sndhwm = so.client_rcvhwm = c.client_hwm;
            so.time_limit = b_.run_limit;
            so.symbol_tag = next_tag();
            results.push_back(run_stream(ctx_, *c.t, so));
            const auto& r = results.back();
            progress("burst " + c.label + ": sent " + fmt_count(r.sent) + ", lost " +
                     fmt_count(r.lost) + ", seq gaps " + fmt_count(r.gap_messages));
        }
        const auto cell = [](const stream_result& r) {
            return "lost " + fmt_count(r.lost) + " (" + pct(r.lost, r.expected) + ")";
        };
        const auto accounted = [](const stream_result& r) {
            return r.gap_messages == r.lost && r.out_of_order == 0 && r.bad_messages == 0;
        };
        const stream_result& br = results[0];
        const stream_result& b1 = results[1];
        const stream_result& b2 = results[2];
        const std::string burst = fmt_count(b_.burst_messages);
        table_.add({"loss",
                    "full-speed burst of " + burst + ", project defaults vs libzmq defaults",
                    cell(br), cell(b1), "",
                    "broker HWM 100000 (nodes' too) vs bare proxy + clients at 1000; burst "
                    "delivered at " +
                        fmt_rate(br.delivered_per_s) + " vs " + fmt_rate(b1.delivered_per_s)});
        table_.add({"loss", "same burst, bare proxy also at HWM 100000", "", cell(b2), "",
                    "delivered at " + fmt_rate(b2.delivered_per_s)});
        table_.add({"loss", "every lost message seen as a seq gap (sum of envelope seq jumps)",
                    std::string(accounted(br) ? "yes: " : "NO: ") + fmt_count(br.gap_messages) +
                        " in " + fmt_count(br.gap_events) + " gaps",
                    std::string(accounted(b1) ? "yes: " : "NO: ") + fmt_count(b1.gap_messages) +
                        " in " + fmt_count(b1.gap_events) + " gaps",
                    "",
                    "one trailing message per topic after the burst exposes tail loss; bare "
                    "at 100000: " +
                        std::string(accounted(b2) ? "yes" : "NO")});
        if (br.reached_target > 0 || br.lost > 0) {
            const std::uint64_t before =
                br.sent > br.reached_target ? br.sent - br.reached_target : 0;
            const std::uint64_t after =
                br.reached_target > br.received ? br.reached_target - br.received : 0;
            table_.add({"loss", "where the broker run lost them (broker's per-topic counter)",
                        "before broker " + fmt_count(before) + ", after " + fmt_count(after), "",
                        "",
                        "sent " + fmt_count(br.sent) + ", counted by the broker " +
                            fmt_count(br.reached_target) + ", received " + fmt_count(br.received)});
        }
        finding("burst of " + burst + " at full speed: tradebus defaults lost " +
                pct(br.lost, br.expected) + ", bare proxy at libzmq's HWM 1000 lost " +
                pct(b1.lost, b1.expected) + "; every loss shows as a seq gap: " +
                (accounted(br) && accounted(b1) && accounted(b2) ? "yes" : "NO"));
        if (const int st = bare_1000.stop(); st != 0) {
            throw std::runtime_error("bare zmq_proxy (HWM 1000) exited with status " +
                                     std::to_string(st) + " on SIGTERM");
        }
        note_peak_rss("after the bursts",
                      "; the bursts fill the HWM queues (up to 100000 messages each): this is "
                      "what the high-water marks cost in memory");
    }

    // ------------------------------------------------------------------ latency

    void latency() {
        struct lat_case {
            transport via;
            double rate;
            std::uint64_t messages;
        };
        const std::vector<lat_case> cases{{transport::tcp, 1000, b_.lat_messages_1k},
                                          {transport::tcp, 10'000, b_.lat_messages_10k},
                                          {transport::ipc, 1000, b_.lat_messages_1k},
                                          {transport::ipc, 10'000, b_.lat_messages_10k}};
        const auto cell = fmt_percentiles;
        unsigned i = 0;
        for (const auto& c : cases) {
            latency_options lo;
            lo.rate_per_s = c.rate;
            lo.messages = c.messages;
            lo.warmup = b_.lat_warmup;
            lo.time_limit = b_.run_limit;
            // Two halves per target in ABBA order (ABBA, then BAAB for the next cell): a
            // drift in the machine's load during the cell hits both targets alike.
            lo.messages = c.messages / 2;
            latency_result br, bare;
            const bool broker_first = i++ % 2 == 0;
            for (int half = 0; half < 4; ++half) {
                const bool broker = (half == 0 || half == 3) == broker_first;
                latency_result r =
                    run_latency(ctx_, broker ? t_.broker(c.via) : t_.bare(c.via), lo);
                latency_result& into = broker ? br : bare;
                if (half < 2) {
                    into = std::move(r);
                } else {
                    into.merge(r);
                }
            }
            const std::string rate = c.rate >= 10'000 ? "10k/s" : "1k/s";
            const std::string name =
                "round trip, " + std::string(to_string(c.via)) + " @ " + rate + ", us";
            progress("latency " + name + ": broker " + cell(br.us) + "; bare " + cell(bare.us));
            const double r50 = bare.us.p50 > 0 ? br.us.p50 / bare.us.p50 : 0;
            const double r99 = bare.us.p99 > 0 ? br.us.p99 / bare.us.p99 : 0;
            // Each half's own p50 and p99 show the run-to-run spread of this machine.
            const auto halves = [](const latency_result& r, double percentiles::*field) {
                std::string out;
                for (const auto& p : r.runs)
                    out += (out.empty() ? "" : "/") + fmt_fixed(p.*field, 0);
                return out;
            };
            const auto overlap = [](const latency_result& a, const latency_result& b,
                                    double percentiles::*field) {
                double amin = 1e300, amax = 0, bmin = 1e300, bmax = 0;
                for (const auto& p : a.runs)
                    amin = std::min(amin, p.*field), amax = std::max(amax, p.*field);
                for (const auto& p : b.runs)
                    bmin = std::min(bmin, p.*field), bmax = std::max(bmax, p.*field);
                return amin <= bmax && bmin <= amax;
            };
            table_.add({"latency", name, cell(br.us), cell(bare.us),
                        "p50 " + fmt_fixed(r50, 2) + ", p99 " + fmt_fixed(r99, 2),
                        "ABBA halves: p50 " + halves(br, &percentiles::p50) + " vs " +
                            halves(bare, &percentiles::p50) + ", p99 " +
                            halves(br, &percentiles::p99) + " vs " +
                            halves(bare, &percentiles::p99) + "; " + fmt_count(br.answered) + "/" +
                            fmt_count(br.sent) + " vs " + fmt_count(bare.answered) + "/" +
                            fmt_count(bare.sent) + " answered; achieved " +
                            fmt_rate(br.achieved_rate) + " / " + fmt_rate(bare.achieved_rate)});
            const bool met = br.us.p50 <= bare.us.p50 && br.us.p99 <= bare.us.p99;
            // "Within the spread": wherever the broker is worse, its halves and bare's overlap.
            const bool within =
                (br.us.p50 <= bare.us.p50 || overlap(br, bare, &percentiles::p50)) &&
                (br.us.p99 <= bare.us.p99 || overlap(br, bare, &percentiles::p99));
            finding("latency " + std::string(to_string(c.via)) + " @ " + rate +
                    ": broker/bare p50 " + fmt_fixed(r50, 2) + ", p99 " + fmt_fixed(r99, 2) +
                    (met      ? " (target: no worse than bare, met)"
                     : within ? " (target: no worse than bare, missed, but within the spread "
                                "between the halves of the same target)"
                              : " (target: no worse than bare, MISSED beyond the spread "
                                "between halves)"));
        }
    }

    // ------------------------------------------------------------------ pipeline

    chain_options chain_run(double rate, std::uint64_t quotes) const {
        chain_options co;
        co.rate_per_s = rate;
        co.quotes = quotes;
        co.warmup = std::max<std::uint64_t>(100, static_cast<std::uint64_t>(rate * b_.pl_warmup_s));
        // The run's own length plus room for a slow start; a run that needs more is reported.
        co.time_limit = std::chrono::milliseconds(
            static_cast<std::int64_t>(1000.0 * static_cast<double>(quotes + co.warmup) / rate) +
            10'000);
        return co;
    }

    static std::string rate_label(double rate) {
        return rate >= 1000 ? fmt_fixed(rate / 1000, 0) + "k/s" : fmt_fixed(rate, 0) + "/s";
    }

    static std::string answered(const chain_result& r) {
        return fmt_count(r.filled) + "/" + fmt_count(r.quotes) + " filled" +
               (r.rejected > 0 ? ", " + fmt_count(r.rejected) + " rejected" : "") +
               (r.timed_out ? ", time limit hit" : "");
    }

    void pipeline() {
        // The baseline first, then the pipeline; both stay up for the whole section.
        raw_chain chain(ctx_, o_.exe, dir_);
        pipeline_rig rig(ctx_, o_.exe, dir_, o_.source_dir);
        progress("pipeline: broker + strategy + risk + execution up; raw chain of " +
                 std::to_string(chain_relays) + " relays through a bare zmq_proxy up");
        const auto label = [](const chain_result& r, const char* what) {
            return std::string(what) + " " + fmt_percentiles(r.us) + ", " + answered(r);
        };

        // Two fixed rates, alternating which goes first.
        struct cell {
            double rate;
            std::uint64_t quotes;
        };
        unsigned i = 0;
        for (const cell c : {cell{1000, b_.pl_quotes_1k}, cell{10'000, b_.pl_quotes_10k}}) {
            const chain_options co = chain_run(c.rate, c.quotes);
            chain_result pl, raw;
            if (i++ % 2 == 0) {
                pl = rig.run(co);
                raw = chain.run(co);
            } else {
                raw = chain.run(co);
                pl = rig.run(co);
            }
            const std::string name = "quote -> fill @ " + rate_label(c.rate) + ", us";
            progress("pipeline " + name + ": " + label(pl, "pipeline") + "; " +
                     label(raw, "raw hops"));
            const double r50 = raw.us.p50 > 0 ? pl.us.p50 / raw.us.p50 : 0;
            const double r99 = raw.us.p99 > 0 ? pl.us.p99 / raw.us.p99 : 0;
            table_.add({"pipeline", name, fmt_percentiles(pl.us), fmt_percentiles(raw.us),
                        "p50 " + fmt_fixed(r50, 1) + ", p99 " + fmt_fixed(r99, 1),
                        answered(pl) + " vs " + answered(raw) + "; quotes at " +
                            fmt_rate(pl.achieved_rate) + " vs " + fmt_rate(raw.achieved_rate) +
                            "; p99 first/second half " + fmt_fixed(pl.first_half.p99, 0) + "/" +
                            fmt_fixed(pl.second_half.p99, 0) + " vs " +
                            fmt_fixed(raw.first_half.p99, 0) + "/" +
                            fmt_fixed(raw.second_half.p99, 0)});
            finding("pipeline quote -> fill @ " + rate_label(c.rate) + ": p50 " +
                    fmt_fixed(pl.us.p50, 0) + " us, p99 " + fmt_fixed(pl.us.p99, 0) +
                    " us through broker, strategy, risk and execution; the same " +
                    std::to_string(chain_relays + 1) + " broker passes as raw ZeroMQ hops: p50 " +
                    fmt_fixed(raw.us.p50, 0) + " us, p99 " + fmt_fixed(raw.us.p99, 0) + " us (" +
                    fmt_fixed(r50, 1) + "x / " + fmt_fixed(r99, 1) + "x the physical limit); " +
                    answered(pl));
        }

        // Memory at the rates a desk runs at, before the ladder overloads the pipeline.
        const auto mem_paced = rig.peak_rss_kib();
        const auto raw_mem_paced = chain.peak_rss_kib();

        // The highest sustainable rate of each: up the ladder until a step is not.
        struct ladder_result {
            double best = 0;
            chain_result at_best;
            std::string stopped_by;
        };
        const auto climb = [&](auto& target, const char* what) {
            ladder_result lr;
            for (const double rate : b_.pl_ladder) {
                const auto quotes = static_cast<std::uint64_t>(rate * b_.pl_step_s);
                chain_result r;
                std::string why;
                // A step that fails is tried once more before the climb stops: on a shared
                // machine one neighbour's burst can spoil a 2 s step.
                for (int attempt = 0; attempt < 2; ++attempt) {
                    r = target.run(chain_run(rate, quotes));
                    why = r.unsustainable_because();
                    progress(std::string("pipeline ladder, ") + what + " @ " + rate_label(rate) +
                             ": p50 " + fmt_fixed(r.us.p50, 0) + " us, p99 " +
                             fmt_fixed(r.us.p99, 0) + " us, " + answered(r) +
                             (why.empty() ? ": sustainable" : ": NOT sustainable, " + why));
                    if (why.empty()) break;
                }
                if (!why.empty()) {
                    lr.stopped_by = rate_label(rate) + ": " + why;
                    break;
                }
                lr.best = rate;
                lr.at_best = std::move(r);
            }
            if (lr.stopped_by.empty()) {
                lr.stopped_by =
                    "nothing: the ladder's top step (" + rate_label(lr.best) + ") was sustained";
            }
            return lr;
        };
        const ladder_result pl = climb(rig, "pipeline");
        rig.drain();  // the pipeline's last, overloaded step must not slow the raw chain's
        const ladder_result raw = climb(chain, "raw hops");
        const auto best = [](const ladder_result& l) {
            return l.best > 0 ? rate_label(l.best) : std::string("below the first step");
        };
        table_.add({"pipeline",
                    "highest sustainable quote rate (ladder of " + fmt_fixed(b_.pl_step_s, 1) +
                        " s steps)",
                    best(pl), best(raw),
                    raw.best > 0 ? fmt_fixed(pl.best / raw.best, 2) : std::string(),
                    "sustainable: every quote filled, source >= 95% of the rate, p90 <= 20 ms, "
                    "second-half "
                    "p90 <= 2x first-half p90 + 2 ms (a failed step is tried twice); stopped "
                    "by " +
                        pl.stopped_by + " vs " + raw.stopped_by});
        const auto at_best = [&](const ladder_result& l) {
            return l.best > 0 ? fmt_percentiles(l.at_best.us) + " @ " + best(l) : std::string();
        };
        table_.add({"pipeline", "quote -> fill at each one's highest sustainable rate, us",
                    at_best(pl), at_best(raw), "",
                    (pl.best > 0 ? answered(pl.at_best) : std::string("-")) + " vs " +
                        (raw.best > 0 ? answered(raw.at_best) : std::string("-"))});
        live_sustainable_ = pl.best;
        finding("pipeline: highest sustainable quote rate " + best(pl) + " (raw hops " + best(raw) +
                "); pipeline stopped by " + pl.stopped_by);

        // Memory of every process: peak over the paced runs, then over the whole section. The
        // ladder's last pipeline step is overloaded on purpose (quotes arrive faster than a node
        // handles them): the backlog queued in front of the slowest node shows in the second row.
        const auto memory_row = [&](const auto& mem, const auto& raw_mem, const std::string& when) {
            std::string nodes;
            for (const char* n : {"broker", "marketdata", "strategy", "risk", "execution"}) {
                nodes += (nodes.empty() ? "" : ", ") + std::string(n) + " " + mib(mem.at(n));
            }
            table_.add({"memory", "peak RSS (VmHWM) of each process, " + when + ", MiB", nodes,
                        "proxy " + mib(raw_mem.at("proxy")) + ", relay " + mib(raw_mem.at("relay")),
                        "", "marketdata: the largest of its runs (one process per run)"});
            finding("peak RSS " + when + " (MiB): " + nodes);
        };
        memory_row(mem_paced, raw_mem_paced, "pipeline at 1k/s and 10k/s");
        memory_row(rig.peak_rss_kib(), chain.peak_rss_kib(),
                   "pipeline after the ladder (its last step overloaded)");
        rig.stop();
        chain.stop();
    }

    // ------------------------------------------------------------------ codec

    void codec() {
        const auto csv = dir_.file("codec.csv");
        const std::vector<std::string> args{
            "--benchmark_min_time=" + b_.codec_min_time,
            "--benchmark_repetitions=" + std::to_string(b_.codec_repetitions),
            "--benchmark_report_aggregates_only=" +
                std::string(b_.codec_repetitions > 1 ? "true" : "false"),
            "--benchmark_out=" + csv.string(), "--benchmark_out_format=csv"};
        child_process p(o_.exe.codec, args, dir_.file("codec.log"));
        const auto status = p.wait_exit(o_.quick ? 60s : 180s);
        if (!status || *status != 0) {
            throw std::runtime_error("tradebus-bench-codec failed (status " +
                                     std::to_string(status.value_or(-1)) + "): " + p.log());
        }
        // CSV: name,iterations,real_time,cpu_time,time_unit,...,"bytes" counter last.
        std::ifstream in(csv);
        std::string line;
        std::vector<std::string> header;
        struct codec_row {
            double enc = -1, dec = -1, dec_into = -1, bytes = 0;
        };
        std::vector<std::pair<std::string, codec_row>> rows;
        const std::string want_suffix = b_.codec_repetitions > 1 ? "_median" : "";
        while (std::getline(in, line)) {
            std::vector<std::string> f;
            std::string cur;
            bool quoted = false;
            for (char ch : line) {
                if (ch == '"') {
                    quoted = !quoted;
                } else if (ch == ',' && !quoted) {
                    f.push_back(cur);
                    cur.clear();
                } else {
                    cur += ch;
                }
            }
            f.push_back(cur);
            if (f.size() > 1 && f[0] == "name") {
                header = f;
                continue;
            }
            if (header.empty() || f.size() != header.size()) continue;
            const auto col = [&](const std::string& name) -> std::string {
                for (std::size_t k = 0; k < header.size(); ++k) {
                    if (header[k] == name) return f[k];
                }
                return "";
            };
            std::string name = f[0];
            if (!want_suffix.empty()) {
                if (name.size() < want_suffix.size() ||
                    name.compare(name.size() - want_suffix.size(), want_suffix.size(),
                                 want_suffix) != 0) {
                    continue;
                }
                name.resize(name.size() - want_suffix.size());
            }
            const auto slash = name.find('/');
            if (slash == std::string::npos) continue;
            const std::string op = name.substr(0, slash), type = name.substr(slash + 1);
            auto it = std::find_if(rows.begin(), rows.end(),
                                   [&](const auto& r) { return r.first == type; });
            if (it == rows.end()) it = rows.insert(rows.end(), {type, codec_row{}});
            const double ns = std::stod(col("cpu_time"));
            (op == "encode"        ? it->second.enc
             : op == "decode_into" ? it->second.dec_into
                                   : it->second.dec) = ns;
            const std::string bytes = col("bytes");
            if (!bytes.empty()) it->second.bytes = std::stod(bytes);
        }
        if (rows.empty()) throw std::runtime_error("no results in " + csv.string());
        // The events every quote makes on its way to a fill (PROTOCOL.md "Topics").
        constexpr std::array<std::string_view, 5> pipeline_types{"tick", "signal", "order",
                                                                 "order_ack", "fill"};
        double enc_max = 0, into_max = 0;
        for (const auto& [type, r] : rows) {
            table_.add({"codec", type + " (" + fmt_fixed(r.bytes, 0) + " B)",
                        "encode " + fmt_fixed(r.enc, 0) + " ns",
                        "decode " + fmt_fixed(r.dec, 0) + " ns", "",
                        "decoded into a kept event (the node runtime's receive path) " +
                            fmt_fixed(r.dec_into, 0) + " ns; " +
                            (b_.codec_repetitions > 1 ? "CPU ns/event, median of " +
                                                            std::to_string(b_.codec_repetitions) +
                                                            " Google Benchmark repetitions"
                                                      : "CPU ns/event, Google Benchmark")});
            if (std::find(pipeline_types.begin(), pipeline_types.end(), type) !=
                pipeline_types.end()) {
                enc_max = std::max(enc_max, r.enc);
                into_max = std::max(into_max, r.dec_into);
            }
        }
        finding(
            "codec, the pipeline's events (tick, signal, order, order_ack, fill): encode at "
            "most " +
            fmt_fixed(enc_max, 0) + " ns (target <= 100: " + (enc_max <= 100 ? "met" : "MISSED") +
            "), decode into a kept event at most " + fmt_fixed(into_max, 0) +
            " ns (target <= 200: " + (into_max <= 200 ? "met" : "MISSED") + ")");
        progress("codec: " + std::to_string(rows.size()) + " event types");
    }

    // ------------------------------------------------------------------ journal

    void journal() {
        journal_options jo;
        jo.records = b_.journal_records;
        jo.every_records = b_.journal_every_records;
        jo.time_limit = o_.quick ? 5s : 30s;
        const journal_result r = run_journal(dir_.path(), jo);
        const char* names[] = {"append, fsync none", "append, fsync interval (1000 ms)",
                               "append, fsync every record"};
        const char* raw_names[] = {"write(2) 1 MiB chunks, no fsync",
                                   "write(2) 1 MiB chunks + fdatasync each 1 s",
                                   "write(2) per record + fdatasync each"};
        for (std::size_t i = 0; i < 3; ++i) {
            const io_rate& a = r.append[i];
            const io_rate& w = r.raw_write[i];
            table_.add({"journal", names[i],
                        fmt_rate(a.records_per_s()) + " events, " + fmt_mb(a.mb_per_s()) + " MB/s",
                        fmt_mb(w.mb_per_s()) + " MB/s",
                        fmt_fixed(w.mb_per_s() > 0 ? a.mb_per_s() / w.mb_per_s() : 0, 2),
                        "baseline: " + std::string(raw_names[i]) + ", same bytes; " +
                            fmt_count(a.records) + " records of " + std::to_string(r.record_bytes) +
                            " B, " + fmt_count(a.syncs) + " fdatasyncs" +
                            (a.timed_out ? "; time limit hit" : "")});
        }
        table_.add(
            {"journal", "replay with the reader, cold",
             fmt_rate(r.read_cold.records_per_s()) + " records, " +
                 fmt_fixed(r.read_cold.mb_per_s(), 1) + " MB/s",
             fmt_fixed(r.raw_read_cold.mb_per_s(), 1) + " MB/s",
             fmt_fixed(r.raw_read_cold.mb_per_s() > 0
                           ? r.read_cold.mb_per_s() / r.raw_read_cold.mb_per_s()
                           : 0,
                       2),
             "baseline: read(2) 1 MiB chunks after posix_fadvise(DONTNEED); " +
                 fmt_fixed(100 * r.cold_resident, 0) + "% / " +
                 fmt_fixed(100 * r.raw_cold_resident, 0) +
                 "% of pages cached at start (mincore); a VM disk may be cached by the host"});
        table_.add({"journal", "replay with the reader, warm (page cache)",
                    fmt_rate(r.read_warm.records_per_s()) + " records, " +
                        fmt_fixed(r.read_warm.mb_per_s(), 1) + " MB/s",
                    "", "", "CRC-32C checked per record"});
        const auto ratio_of = [](double a, double b) { return fmt_fixed(b > 0 ? a / b : 0, 2); };
        finding("journal append / plain write(2) of the same bytes: fsync none " +
                ratio_of(r.append[0].mb_per_s(), r.raw_write[0].mb_per_s()) + ", interval " +
                ratio_of(r.append[1].mb_per_s(), r.raw_write[1].mb_per_s()) + ", every " +
                ratio_of(r.append[2].mb_per_s(), r.raw_write[2].mb_per_s()) + "; replay " +
                fmt_rate(r.read_cold.records_per_s()) + " records cold, " +
                fmt_rate(r.read_warm.records_per_s()) + " warm (" +
                ratio_of(r.read_cold.mb_per_s(), r.raw_read_cold.mb_per_s()) + " of read(2) cold" +
                (r.read_cold.mb_per_s() < 0.5 * r.raw_read_cold.mb_per_s()
                     ? ": the reader is CPU-bound (CRC-32C + parsing per record), not disk-bound)"
                     : ")"));
        progress("journal: done");
    }

    // ------------------------------------------------------------------ backtest

    void backtest() {
        backtest_bench_options bo;
        bo.ticks = b_.bt_ticks;
        bo.rounds = b_.bt_rounds;
        bo.config_dir = (std::filesystem::path(o_.source_dir) / "config" / "nodes").string();
        bo.tradebus_exe = o_.exe.tradebus;
        const backtest_bench_result r = run_backtest_bench(dir_.path(), bo);
        const std::string live = live_sustainable_ > 0 ? rate_label(live_sustainable_) : "";
        const std::string live_note =
            live_sustainable_ > 0
                ? "baseline: the live pipeline's highest sustainable quote rate (pipeline "
                  "section, this run)"
                : "baseline: run the pipeline section too for the live pipeline's sustainable "
                  "rate";
        const auto vs_live = [&](double rate) {
            return live_sustainable_ > 0 ? fmt_fixed(rate / live_sustainable_, 0) + "x"
                                         : std::string();
        };
        table_.add({"backtest", "ticks/s through strategy + risk + execution (simulated clock)",
                    fmt_rate(r.engine_ticks_per_s), live, vs_live(r.engine_ticks_per_s),
                    "built-in EMA strategy, risk, paper execution from config/nodes; " +
                        fmt_count(r.ticks) + " ticks from memory, median of " +
                        std::to_string(bo.rounds) + " (range " + fmt_rate(r.engine_min) + "-" +
                        fmt_rate(r.engine_max) + "); per run " + fmt_count(r.messages) +
                        " messages, " + fmt_count(r.deliveries) + " deliveries, " +
                        fmt_count(r.signals) + " signals, " + fmt_count(r.orders) + " orders, " +
                        fmt_count(r.fills) + " fills; " + live_note});
        table_.add({"backtest", "the same, every message decoded from its bytes (decode_each)",
                    fmt_rate(r.wire_ticks_per_s), live, vs_live(r.wire_ticks_per_s),
                    "what a subscriber decoding each message as on the wire costs; the same "
                    "run, checked by the tests"});
        table_.add({"backtest", "`tradebus backtest` on the same ticks as a CSV, end to end",
                    fmt_rate(r.cli_ticks_per_s), live, vs_live(r.cli_ticks_per_s),
                    "process start to exit, " + fmt_fixed(r.cli_seconds, 2) +
                        " s: reads the CSV twice (checked, then replayed), journals every "
                        "message, builds the report and report.html from the journal"});
        const bool met = r.engine_ticks_per_s >= 1e6;
        finding("backtest: " + fmt_rate(r.engine_ticks_per_s) +
                " ticks through strategy + risk + execution on a simulated clock (target >= "
                "1 M/s " +
                (met ? "met" : "NOT met") + ")" +
                (live_sustainable_ > 0 ? ", " + vs_live(r.engine_ticks_per_s) +
                                             " the live pipeline's sustainable " + live
                                       : std::string()) +
                "; `tradebus backtest` end to end " + fmt_rate(r.cli_ticks_per_s));
        progress("backtest: done");
    }

    // ------------------------------------------------------------------ orders

    static std::string order_counts(const orders_result& r) {
        std::string s = fmt_count(r.filled) + "/" + fmt_count(r.orders) + " filled, " +
                        fmt_count(r.acked) + " acked";
        if (r.lost() > 0) s += ", LOST " + fmt_count(r.lost());
        if (r.rejected > 0) {
            s += ", REJECTED " + fmt_count(r.rejected) + " (first: " + r.first_reject + ")";
        }
        if (r.timed_out) s += ", time limit hit";
        return s;
    }

    void orders() {
        // Both venues up for the whole section, each on its own broker; rounds alternate which
        // goes first (paper, FIX, FIX, paper, ...).
        order_rig paper(ctx_, o_.exe, dir_, order_venue::paper);
        order_rig fix(ctx_, o_.exe, dir_, order_venue::fix);
        progress(
            "orders: broker + execution (paper) and broker + execution (FIX) + "
            "tradebus-venue-sim up");
        orders_options oo;
        oo.rate_per_s = b_.or_rate;
        oo.orders = b_.or_orders;
        oo.warmup =
            std::max<std::uint64_t>(20, static_cast<std::uint64_t>(b_.or_rate * b_.or_warmup_s));
        oo.time_limit = std::chrono::milliseconds(
            static_cast<std::int64_t>(1000.0 * static_cast<double>(oo.orders + oo.warmup) /
                                      oo.rate_per_s) +
            10'000);
        orders_result r[2];        // [0] FIX, [1] paper
        double cpu_s[2] = {0, 0};  // the execution node's CPU during its own runs
        for (unsigned round = 0; round < b_.or_rounds; ++round) {
            for (int k = 0; k < 2; ++k) {
                const int v = (k == 0) == (round % 2 == 0) ? 1 : 0;
                order_rig& rig = v == 0 ? fix : paper;
                const double cpu_before = rig.execution_cpu_seconds();
                const orders_result one = rig.run(oo);
                cpu_s[v] += rig.execution_cpu_seconds() - cpu_before;
                progress("orders round " + std::to_string(round + 1) + ", " +
                         (v == 0 ? "FIX" : "paper") + ": ack p50 " + fmt_fixed(one.ack.p50, 0) +
                         " us, p99 " + fmt_fixed(one.ack.p99, 0) + " us; fill p50 " +
                         fmt_fixed(one.fill.p50, 0) + " us, p99 " + fmt_fixed(one.fill.p99, 0) +
                         " us; " + order_counts(one));
                r[v].merge(one);
            }
        }
        const double published =
            static_cast<double>(b_.or_rounds) * static_cast<double>(oo.orders + oo.warmup);
        const auto cpu_us = [&](int v) { return fmt_fixed(cpu_s[v] * 1e6 / published, 0); };
        const std::string cpu = "execution node CPU per order " + cpu_us(0) + " vs " + cpu_us(1) +
                                " us (utime+stime over its runs / orders; at " +
                                rate_label(b_.or_rate) + " every order is its own wake-up)";
        const std::string rate = rate_label(b_.or_rate);
        const std::string how = std::to_string(b_.or_rounds) + " alternated rounds of " +
                                fmt_count(oo.orders) + " MARKET IOC orders (+" +
                                fmt_count(oo.warmup) + " warm-up) at " + rate + "; ";
        const auto ratios = [](const percentiles& a, const percentiles& b) {
            return "p50 " + fmt_fixed(b.p50 > 0 ? a.p50 / b.p50 : 0, 1) + ", p99 " +
                   fmt_fixed(b.p99 > 0 ? a.p99 / b.p99 : 0, 1);
        };
        table_.add({"orders", "order -> ack @ " + rate + ", FIX venue vs paper, us",
                    fmt_percentiles(r[0].ack), fmt_percentiles(r[1].ack),
                    ratios(r[0].ack, r[1].ack),
                    how + order_counts(r[0]) + " vs " + order_counts(r[1])});
        table_.add({"orders", "order -> fill @ " + rate + ", FIX venue vs paper, us",
                    fmt_percentiles(r[0].fill), fmt_percentiles(r[1].fill),
                    ratios(r[0].fill, r[1].fill),
                    "FIX: execution -> QuickFIX -> tradebus-venue-sim -> ExecutionReports New, "
                    "Trade -> execution -> bus; " +
                        cpu + "; orders at " + fmt_rate(r[0].achieved_rate) + " vs " +
                        fmt_rate(r[1].achieved_rate)});
        table_.add({"orders", "FIX venue: order -> match at tradebus-venue-sim, us",
                    fmt_percentiles(r[0].to_venue), "", "",
                    "then match -> fill on the bus " + fmt_percentiles(r[0].from_venue) +
                        "; the split at the simulator's execution ts_ns (CLOCK_REALTIME, same "
                        "machine); " +
                        fmt_count(r[0].to_venue_us.size()) + " executions matched to fills"});
        // One for one: every fill on the bus is an execution at the venue.
        const auto executions = fix.venue_executions();
        const std::string venue_check =
            executions ? (*executions == fix.bus_fills() ? "equal" : "DIFFERENT") +
                             std::string(": ") + fmt_count(*executions) + " venue executions, " +
                             fmt_count(fix.bus_fills()) + " bus fills"
                       : std::string("the simulator did not answer");
        const auto rss = [](const std::map<std::string, std::uint64_t>& m) {
            std::string s;
            for (const auto& [name, kib] : m) s += (s.empty() ? "" : ", ") + name + " " + mib(kib);
            return s;
        };
        finding("orders @ " + rate + ": order -> ack p50 " + fmt_fixed(r[0].ack.p50, 0) +
                " us / p99 " + fmt_fixed(r[0].ack.p99, 0) + " us through the FIX venue, " +
                fmt_fixed(r[1].ack.p50, 0) + " / " + fmt_fixed(r[1].ack.p99, 0) +
                " us at the paper exchange; order -> fill " + fmt_fixed(r[0].fill.p50, 0) + " / " +
                fmt_fixed(r[0].fill.p99, 0) + " vs " + fmt_fixed(r[1].fill.p50, 0) + " / " +
                fmt_fixed(r[1].fill.p99, 0) + " us (FIX/paper p50 " +
                fmt_fixed(r[1].fill.p50 > 0 ? r[0].fill.p50 / r[1].fill.p50 : 0, 1) + "x); " +
                order_counts(r[0]) + " vs " + order_counts(r[1]) +
                "; venue vs bus: " + venue_check + "; peak RSS (MiB) FIX " +
                rss(fix.peak_rss_kib()) + "; paper " + rss(paper.peak_rss_kib()));
        paper.stop();
        fix.stop();
    }

    // ------------------------------------------------------------------ python

    // The highest tick rate one strategy node keeps up with, alone on a broker: the built-in
    // tradebus-strategy with its shipped config (the baseline) and bench/python_strategy.py, the
    // same logic on the Python package, reading the same table. How, and what "keeps up" means:
    // strategy_rate.hpp.
    void python() {
        const std::filesystem::path src(o_.source_dir);
        if (!std::filesystem::exists(o_.exe.python)) {
            throw std::runtime_error("no python3 at '" + o_.exe.python +
                                     "' (Debian's, with python3-zmq and python3-msgpack; "
                                     "--python names another)");
        }
        // The shipped config's own tables, from [strategy] on; the rig writes [node], [broker].
        std::ifstream in(src / "config" / "nodes" / "strategy.toml");
        const std::string shipped{std::istreambuf_iterator<char>(in), {}};
        const auto at = shipped.find("\n[strategy]\n");
        if (at == std::string::npos) {
            throw std::runtime_error("no [strategy] table in config/nodes/strategy.toml");
        }
        const std::string own = shipped.substr(at + 1);
        bus_target broker(ctx_, o_.exe, dir_,
                          target_options{target_kind::broker, transport::tcp, 0, "", "py-broker"});

        struct ladder_result {
            double best = 0;
            std::map<double, tick_step_result> kept;  // every step kept up with, by rate
            std::string stopped_by;
            bool topped = false;  // the ladder's top step was kept up with
        };
        const auto climb = [&](const strategy_node_spec& spec, const char* what) {
            strategy_rig rig(ctx_, broker, dir_, spec);
            progress(std::string("python: ") + what + " up");
            ladder_result lr;
            for (const double rate : b_.py_ladder) {
                tick_step_options so;
                so.rate_per_s = rate;
                so.seconds = b_.py_step_s;
                so.warmup_s = b_.py_warmup_s;
                tick_step_result r;
                std::string why;
                // A step that fails is tried once more (one neighbour's burst can spoil it).
                for (int attempt = 0; attempt < 2; ++attempt) {
                    r = rig.run(so);
                    why = r.unsustainable_because();
                    progress(std::string("python ladder, ") + what + " @ " + rate_label(rate) +
                             ": p50 " + fmt_fixed(r.us.p50, 0) + " us, p90 " +
                             fmt_fixed(r.us.p90, 0) + " us, " + fmt_count(r.signals) +
                             " signals, CPU " + fmt_fixed(r.cpu_us_per_tick, 1) + " us/tick" +
                             (why.empty() ? ": keeps up" : ": does NOT keep up, " + why));
                    if (why.empty()) break;
                }
                if (!why.empty()) {
                    lr.stopped_by = rate_label(rate) + ": " + why;
                    break;
                }
                lr.best = rate;
                lr.kept[rate] = std::move(r);
            }
            if (lr.stopped_by.empty()) {
                lr.topped = true;
                lr.stopped_by =
                    "nothing: the ladder's top step (" + rate_label(lr.best) + ") was kept up with";
            }
            rig.stop();
            return lr;
        };
        // The Python node first: when it cannot start, the section fails before the long part.
        const ladder_result py =
            climb({"pystrategy",
                   o_.exe.python,
                   {(src / "bench" / "python_strategy.py").string()},
                   {"PYTHONPATH=" + (src / "python").string(), "PYTHONDONTWRITEBYTECODE=1"},
                   own},
                  "python_strategy.py");
        const ladder_result cpp =
            climb({"strategy", o_.exe.strategy, {}, {}, own}, "tradebus-strategy");
        if (broker.stop() != 0) {
            throw std::runtime_error("the python section's broker did not exit cleanly");
        }

        const auto best = [](const ladder_result& l) {
            if (l.best == 0) return std::string("below the first step");
            return (l.topped ? ">= " : "") + rate_label(l.best);
        };
        const auto ratio = [](double a, double b) {
            return b > 0 ? fmt_fixed(a / b, 2) : std::string();
        };
        // A node that kept up with the ladder's top step may keep up with more.
        std::string rate_ratio = ratio(py.best, cpp.best);
        if (py.topped) {
            rate_ratio = cpp.topped ? "" : ">= " + rate_ratio;
        } else if (cpp.topped) {
            rate_ratio = "<= " + rate_ratio;
        }
        table_.add({"python",
                    "highest tick rate one strategy node keeps up with (ladder of " +
                        fmt_fixed(b_.py_step_s, 1) + " s steps)",
                    best(py), best(cpp), rate_ratio,
                    "bench/python_strategy.py vs tradebus-strategy, shipped "
                    "config/nodes/strategy.toml, 3 symbols; keeps up: every tick counted by the "
                    "node (heartbeat received, gaps 0), source >= 95% of the rate, tick -> signal "
                    "p90 <= 20 ms, second-half p90 <= 2x first-half + 2 ms (a failed step is tried "
                    "twice); stopped by " +
                        py.stopped_by + " vs " + cpp.stopped_by});
        if (py.best == 0 || cpp.kept.count(py.best) == 0) return;
        // Both at the same rate, the Python node's highest: latency and CPU compare directly.
        const tick_step_result& p = py.kept.at(py.best);
        const tick_step_result& c = cpp.kept.at(py.best);
        const auto per_k = [](const tick_step_result& r) {
            return fmt_fixed(1000.0 * static_cast<double>(r.signals) /
                                 static_cast<double>(std::max<std::uint64_t>(r.ticks, 1)),
                             0);
        };
        const std::string same = " @ " + rate_label(py.best) + " (the Python node's highest)";
        table_.add({"python", "tick -> signal" + same + ", us", fmt_percentiles(p.us),
                    fmt_percentiles(c.us),
                    "p50 " + ratio(p.us.p50, c.us.p50) + ", p99 " + ratio(p.us.p99, c.us.p99),
                    "timed for every tick that made a signal: " + fmt_count(p.signals) + " vs " +
                        fmt_count(c.signals) + " signals (" + per_k(p) + " vs " + per_k(c) +
                        " per 1,000 ticks: the same EMA crosses)"});
        table_.add({"python", "node CPU per tick" + same + ", us", fmt_fixed(p.cpu_us_per_tick, 1),
                    fmt_fixed(c.cpu_us_per_tick, 1), ratio(p.cpu_us_per_tick, c.cpu_us_per_tick),
                    "user + system CPU of the node process, all threads (/proc, 10 ms ticks), over "
                    "the step / ticks published"});
        finding("python: a Python strategy node keeps up with " + best(py) +
                " ticks, tradebus-strategy with " + best(cpp) + "; at " + rate_label(py.best) +
                " the Python node takes " + fmt_fixed(p.cpu_us_per_tick, 1) +
                " us CPU per tick (tradebus-strategy " + fmt_fixed(c.cpu_us_per_tick, 1) +
                ") and signals p50 " + fmt_fixed(p.us.p50, 0) + " us after the tick (" +
                fmt_fixed(c.us.p50, 0) + "); the Python node stopped by " + py.stopped_by);
    }

    // ------------------------------------------------------------------ peers

    void peers() {
        // tradebus-broker, redis-server and nats-server, all up for the whole section; each
        // measurement runs every present system once per round, the order rotating per round
        // (T R N, R N T, N T R, ...) so drift on the machine hits each alike.
        bus_target broker(
            ctx_, o_.exe, dir_,
            target_options{target_kind::broker, transport::tcp, 0, "", "broker-peers"});
        struct peer_system {
            std::unique_ptr<peer_server> server;
            std::string label, skipped;
        };
        std::vector<peer_system> sys(3);
        sys[0].server = tradebus_peer(broker);
        sys[0].label = "tradebus";
        sys[1].label = "Redis";
        sys[2].label = "NATS";
        const auto start_peer = [&](peer_system& p, const std::string& exe_flag,
                                    const char* exe_name, auto start) {
            std::optional<std::string> exe;
            if (!exe_flag.empty()) {
                exe = exe_flag;
            } else {
                exe = find_server_executable(exe_name);
            }
            if (!exe) {
                p.skipped = std::string(exe_name) + " not found: apt-get install " + exe_name;
                return;
            }
            p.server = start(*exe, dir_, 15s);
        };
        start_peer(sys[1], o_.exe.redis_server, "redis-server", start_redis);
        start_peer(sys[2], o_.exe.nats_server, "nats-server", start_nats);
        std::string up;
        for (const auto& p : sys) {
            up += (up.empty() ? "" : "; ") +
                  (p.server ? p.server->version() : p.label + " skipped (" + p.skipped + ")");
        }
        progress("peers: " + up);
        for (const auto& p : sys) {
            if (!p.server) {
                table_.add({"peers", p.label, "", "skipped", "", p.skipped});
                finding("peers: " + p.label + " NOT compared: " + p.skipped);
            }
        }

        struct stream_cell {
            std::vector<double> rate[3];
            std::vector<double> ratio[3];  // per round: tradebus / system k
            double cpu_s[3] = {0, 0, 0};
            std::uint64_t delivered[3] = {0, 0, 0}, lost[3] = {0, 0, 0}, timeouts[3] = {0, 0, 0};
        };
        struct lat_cell {
            std::vector<percentiles> rounds[3];
            std::uint64_t sent[3] = {0, 0, 0}, answered[3] = {0, 0, 0};
            double achieved[3] = {1e300, 1e300, 1e300};  // the lowest of the runs
        };
        stream_cell one, fan;
        lat_cell lat;
        const std::uint64_t window = 1000;
        const auto stream_round = [&](stream_cell& cell, std::size_t subs, std::uint64_t n,
                                      const std::array<std::size_t, 3>& order, const char* what) {
            double rate[3] = {0, 0, 0};
            for (const std::size_t k : order) {
                if (!sys[k].server) continue;
                peer_stream_options so;
                so.subscribers = subs;
                so.messages = n;
                so.window = window;
                so.batch = window / 4;
                so.time_limit = b_.run_limit;
                so.symbol = next_tag();
                const peer_stream_result r = run_peer_stream(*sys[k].server, so);
                const std::uint64_t l = r.lost + r.gap_messages + r.bad;
                rate[k] = r.delivered_per_s;
                cell.rate[k].push_back(r.delivered_per_s);
                cell.cpu_s[k] += r.server_cpu_seconds;
                cell.delivered[k] += r.received;
                cell.lost[k] += l;
                cell.timeouts[k] += r.timed_out ? 1 : 0;
                progress(std::string("peers ") + what + ": " + sys[k].label + " " +
                         fmt_rate(r.delivered_per_s) + " per subscriber, lost " +
                         std::to_string(l) + ", server CPU " +
                         fmt_fixed(r.server_cpu_us_per_delivery, 2) + " us/delivery" +
                         (r.timed_out ? " (time limit hit)" : ""));
            }
            for (std::size_t k = 1; k < 3; ++k) {
                if (rate[k] > 0) cell.ratio[k].push_back(rate[0] / rate[k]);
            }
        };
        for (unsigned round = 0; round < b_.pe_rounds; ++round) {
            const std::array<std::size_t, 3> order{round % 3, (round + 1) % 3, (round + 2) % 3};
            stream_round(one, 1, b_.pe_messages, order, "1 -> 1");
            stream_round(fan, 3, b_.pe_fanout_messages, order, "1 -> 3");
            for (const std::size_t k : order) {
                if (!sys[k].server) continue;
                latency_options lo;
                lo.rate_per_s = 10'000;
                lo.messages = b_.pe_lat_messages;
                lo.warmup = b_.pe_lat_warmup;
                lo.time_limit = b_.run_limit;
                const latency_result r = run_peer_latency(*sys[k].server, lo, next_tag());
                lat.rounds[k].push_back(r.us);
                lat.sent[k] += r.sent;
                lat.answered[k] += r.answered;
                lat.achieved[k] = std::min(lat.achieved[k], r.achieved_rate);
                progress("peers one-way latency @ 10k/s: " + sys[k].label + " " +
                         fmt_percentiles(r.us) + " us; " + fmt_count(r.answered) + "/" +
                         fmt_count(r.sent) + " answered");
            }
        }

        // Rows: per measurement, tradebus against each system present.
        const std::string rounds = std::to_string(b_.pe_rounds);
        const auto range = [](const std::vector<double>& v) {
            if (v.empty()) return std::string("-");
            const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
            return fmt_rate(*lo) + "-" + fmt_rate(*hi);
        };
        const auto us_per = [](const stream_cell& c, std::size_t k) {
            return c.delivered[k] > 0 ? c.cpu_s[k] * 1e6 / static_cast<double>(c.delivered[k])
                                      : 0.0;
        };
        bool lossless = true;
        for (std::size_t k = 0; k < 3; ++k) {
            lossless = lossless && one.lost[k] == 0 && fan.lost[k] == 0;
        }
        const auto stream_rows = [&](const stream_cell& c, const std::string& name, std::uint64_t n,
                                     std::size_t subs) {
            for (std::size_t k = 1; k < 3; ++k) {
                if (!sys[k].server) continue;
                std::string notes =
                    "median of " + rounds + " rotated runs of " + fmt_count(n) + " msgs, window " +
                    fmt_count(window) + " (ratio: median of per-round ratios); range " +
                    range(c.rate[0]) + " vs " + range(c.rate[k]) +
                    "; server CPU us per delivered event " + fmt_fixed(us_per(c, 0), 2) + " vs " +
                    fmt_fixed(us_per(c, k), 2) + "; lost " + std::to_string(c.lost[0]) + "/" +
                    std::to_string(c.lost[k]);
                if (subs > 1) notes += "; rate per subscriber (each gets every event)";
                if (c.timeouts[0] + c.timeouts[k] > 0) {
                    notes += "; " + std::to_string(c.timeouts[0] + c.timeouts[k]) +
                             " runs hit the time limit";
                }
                table_.add({"peers", name + " vs " + sys[k].label, fmt_rate(median(c.rate[0])),
                            fmt_rate(median(c.rate[k])), fmt_fixed(median(c.ratio[k]), 2), notes});
            }
        };
        stream_rows(one, "1 -> 1, events/s delivered", b_.pe_messages, 1);
        stream_rows(fan, "1 -> 3 fan-out, deliveries/s per subscriber", b_.pe_fanout_messages, 3);
        const auto med = [](const std::vector<percentiles>& v, double percentiles::*f) {
            std::vector<double> x;
            for (const auto& p : v) x.push_back(p.*f);
            return median(x);
        };
        const auto lat_cell_text = [&](std::size_t k) {
            return "p50 " + fmt_fixed(med(lat.rounds[k], &percentiles::p50), 0) + " / p90 " +
                   fmt_fixed(med(lat.rounds[k], &percentiles::p90), 0) + " / p99 " +
                   fmt_fixed(med(lat.rounds[k], &percentiles::p99), 0);
        };
        const auto per_round = [&](std::size_t k, double percentiles::*f) {
            std::string out;
            for (const auto& p : lat.rounds[k])
                out += (out.empty() ? "" : "/") + fmt_fixed(p.*f, 0);
            return out;
        };
        for (std::size_t k = 1; k < 3; ++k) {
            if (!sys[k].server) continue;
            const auto ratio = [&](double percentiles::*f) {
                const double b = med(lat.rounds[k], f);
                return b > 0 ? fmt_fixed(med(lat.rounds[0], f) / b, 2) : std::string("-");
            };
            table_.add({"peers", "one-way latency @ 10k msgs/s, us, vs " + sys[k].label,
                        lat_cell_text(0), lat_cell_text(k),
                        "p50 " + ratio(&percentiles::p50) + ", p99 " + ratio(&percentiles::p99),
                        "half the round trip A -> server -> B -> server -> A, B echoing; median "
                        "of " +
                            rounds + " rotated runs of " + fmt_count(b_.pe_lat_messages) +
                            " msgs (per run p50 " + per_round(0, &percentiles::p50) + " vs " +
                            per_round(k, &percentiles::p50) + ", p99 " +
                            per_round(0, &percentiles::p99) + " vs " +
                            per_round(k, &percentiles::p99) + "); answered " +
                            fmt_count(lat.answered[0]) + "/" + fmt_count(lat.sent[0]) + " vs " +
                            fmt_count(lat.answered[k]) + "/" + fmt_count(lat.sent[k]) +
                            "; send rate achieved (lowest run) " + fmt_rate(lat.achieved[0]) +
                            " vs " + fmt_rate(lat.achieved[k])});
        }
        for (std::size_t k = 1; k < 3; ++k) {
            if (!sys[k].server) continue;
            const auto cpu = [&](std::size_t j) {
                return fmt_fixed(us_per(one, j), 2) + " / " + fmt_fixed(us_per(fan, j), 2);
            };
            const auto r = [&](const stream_cell& c) {
                return us_per(c, k) > 0 ? fmt_fixed(us_per(c, 0) / us_per(c, k), 2)
                                        : std::string("-");
            };
            table_.add({"peers",
                        "server CPU per delivered event, 1 -> 1 / 1 -> 3, us, vs " + sys[k].label,
                        cpu(0), cpu(k), r(one) + " / " + r(fan),
                        "utime + stime of the server process, all threads (/proc, 10 ms ticks), "
                        "over the throughput runs / events delivered"});
        }

        // Findings: the headline ratios, how the clients were driven, loss.
        std::string head;
        for (std::size_t k = 1; k < 3; ++k) {
            if (!sys[k].server) continue;
            const double r1 = median(one.ratio[k]), r3 = median(fan.ratio[k]);
            head += (head.empty() ? "" : "; ") + std::string("tradebus/") + sys[k].label +
                    " 1 -> 1 " + fmt_fixed(r1, 2) + (r1 >= 1 ? " (>= 1 met)" : " (>= 1 MISSED)") +
                    ", 1 -> 3 " + fmt_fixed(r3, 2) + (r3 >= 1 ? " (>= 1 met)" : " (>= 1 MISSED)") +
                    ", one-way p50 " + fmt_fixed(med(lat.rounds[0], &percentiles::p50), 0) +
                    " vs " + fmt_fixed(med(lat.rounds[k], &percentiles::p50), 0) + " us";
        }
        if (!head.empty()) finding("peers: " + head);
        std::string drive;
        for (const auto& p : sys) {
            if (p.server) {
                drive +=
                    (drive.empty() ? "" : "; ") + p.server->version() + ": " + p.server->clients();
            }
        }
        finding(
            "peers, systems and clients (threads of the driver; same tick bodies, md.tick.<SYM>, "
            "every message decoded and its seq checked): " +
            drive);
        finding(std::string("peers throughput runs (credit window ") + fmt_count(window) +
                " for every system): " +
                (lossless ? "zero loss and zero gaps on every run"
                          : "SOME LOSS (see the notes of the peers rows)"));

        // Stop every server with SIGTERM; each must exit cleanly.
        for (auto& p : sys) {
            if (!p.server) continue;
            if (const int st = p.server->stop(); st != 0) {
                failed("peers", p.label + " server exited with status " + std::to_string(st) +
                                    " on SIGTERM");
            }
        }
    }

    // ------------------------------------------------------------------ memory

    void memory() {
        // A fresh broker: a long run over a fixed set of topics (no growth per message), then
        // ever-new topics past max_topics_tracked (growth must stop at the cap).
        bus_target broker(ctx_, o_.exe, dir_,
                          target_options{target_kind::broker, transport::tcp, 0, "", "broker-mem"});
        const auto rss = [&] { return broker.memory().value_or(memory_sample{}).rss_kib; };
        const std::uint64_t start = rss();
        stream_options so;
        so.topics_per_publisher = 1000;
        so.time_limit = o_.quick ? 10s : 60s;
        so.symbol_tag = "FIX";
        so.messages_per_publisher = b_.mem_fixed_warm;
        (void)run_stream(ctx_, broker, so);
        const std::uint64_t warm = rss();
        so.messages_per_publisher = b_.mem_fixed_long;
        const stream_result longrun = run_stream(ctx_, broker, so);
        const std::uint64_t after_long = rss();
        const double long_delta = static_cast<double>(after_long) - static_cast<double>(warm);
        table_.add({"memory",
                    "broker RSS, 1,000 topics: after " + fmt_count(b_.mem_fixed_warm) +
                        " msgs -> after " + fmt_count(b_.mem_fixed_long) + " more",
                    mib(warm) + " -> " + mib(after_long) + " MiB", "", "",
                    "start " + mib(start) + " MiB; change " + fmt_fixed(long_delta / 1024.0, 1) +
                        " MiB over " + fmt_count(longrun.received) + " msgs"});

        std::string steps = mib(after_long);
        std::vector<std::uint64_t> samples{after_long};
        for (unsigned i = 0; i < b_.mem_churn_steps; ++i) {
            stream_options c;
            c.topics_per_publisher = b_.mem_churn_topics;
            c.messages_per_publisher = b_.mem_churn_topics;  // each topic seen once
            c.time_limit = so.time_limit;
            c.symbol_tag = "N";
            c.symbol_tag += std::to_string(i);
            (void)run_stream(ctx_, broker, c);
            samples.push_back(rss());
            steps += " -> " + mib(samples.back());
        }
        const std::uint64_t total_topics = b_.mem_churn_topics * b_.mem_churn_steps;
        const auto st = broker.status(1);
        table_.add(
            {"memory",
             "broker RSS, " + fmt_count(total_topics) +
                 " new topics (each seen "
                 "once), per " +
                 fmt_count(b_.mem_churn_topics),
             steps + " MiB", "", "",
             "topics with own counters: " + (st ? fmt_count(st->topics_total) : std::string("?")) +
                 " (cap max_topics_tracked = 100,000; the rest count under *other*)"});
        progress("memory: RSS " + steps + " MiB");
        const double growth_fixed = long_delta / 1024.0;
        std::string topic_verdict;
        // Cumulative topics after step i is (i + 1) * churn; find the first sample at the cap.
        const std::uint64_t cap = 100'000;
        std::size_t at_cap = samples.size();
        for (std::size_t k = 1; k < samples.size(); ++k) {
            if (k * b_.mem_churn_topics >= cap) {
                at_cap = k;
                break;
            }
        }
        if (at_cap + 1 < samples.size()) {
            const double after_cap =
                (static_cast<double>(samples.back()) - static_cast<double>(samples[at_cap])) /
                1024.0;
            const double before_cap =
                (static_cast<double>(samples[at_cap]) - static_cast<double>(samples[0])) / 1024.0;
            topic_verdict = "; +" + fmt_fixed(before_cap, 1) + " MiB for the first " +
                            fmt_count(at_cap * b_.mem_churn_topics) +
                            " topics (their counter "
                            "rows), " +
                            fmt_fixed(after_cap, 1) + " MiB for the " +
                            fmt_count((samples.size() - 1 - at_cap) * b_.mem_churn_topics) +
                            " beyond the 100,000-topic cap";
        } else {
            topic_verdict =
                " (all below the 100,000-topic cap: each new topic costs a counter "
                "row until the cap)";
        }
        finding("broker RSS over " + fmt_count(longrun.received) +
                " msgs on 1,000 topics: " + mib(warm) + " -> " + mib(after_long) + " MiB (" +
                fmt_fixed(growth_fixed, 1) + " MiB); with " + fmt_count(total_topics) +
                " new topics: " + steps + " MiB" + topic_verdict);
        if (broker.stop() != 0) throw std::runtime_error("the memory broker did not exit cleanly");
    }

    // ------------------------------------------------------------------ scaling

    void scaling() {
        struct scale_case {
            std::string name;
            std::size_t subs, topics;
        };
        const std::size_t big = b_.scale_topics_max;
        const std::vector<scale_case> cases{{"1 sub, 10 topics", 1, 10},
                                            {"4 subs, 10 topics", 4, 10},
                                            {"16 subs, 10 topics", 16, 10},
                                            {"1 sub, 1,000 topics", 1, 1000},
                                            {"1 sub, " + fmt_count(big) + " topics", 1, big}};
        unsigned i = 0;
        std::vector<std::string> scale_notes;
        for (const auto& c : cases) {
            stream_options so;
            so.subscribers = c.subs;
            so.topics_per_publisher = c.topics;
            // The same delivered volume for every point (at least two messages per topic).
            so.messages_per_publisher =
                std::max<std::uint64_t>(b_.scale_messages / c.subs, 2 * c.topics);
            so.window = 1000;
            so.time_limit = b_.run_limit;
            // [0] broker, [1] bare; rounds alternate which goes first. Rate: median; CPU: all
            // CPU seconds over all wall seconds / deliveries of the rounds.
            std::vector<double> rate[2];
            double cpu_s[2] = {0, 0}, wall_s[2] = {0, 0};
            std::uint64_t delivered[2] = {0, 0}, lost[2] = {0, 0};
            bool timed_out = false;
            for (unsigned round = 0; round < b_.scale_rounds; ++round) {
                const bool broker_first = i++ % 2 == 0;
                for (int k = 0; k < 2; ++k) {
                    const int t = (k == 0) == broker_first ? 0 : 1;
                    so.symbol_tag = next_tag();
                    const stream_result r =
                        run_stream(ctx_, t == 0 ? *t_.broker_tcp : *t_.bare_tcp, so);
                    rate[t].push_back(r.delivered_per_s);
                    cpu_s[t] += r.target_cpu_seconds;
                    wall_s[t] += r.seconds;
                    delivered[t] += r.received;
                    lost[t] += r.lost + r.gap_messages;
                    timed_out = timed_out || r.timed_out;
                }
            }
            const auto cpu = [&](int t) {
                return fmt_fixed(wall_s[t] > 0 ? 100 * cpu_s[t] / wall_s[t] : 0, 0) + "% CPU";
            };
            const auto us_per = [&](int t) {
                return fmt_fixed(
                    delivered[t] > 0 ? cpu_s[t] * 1e6 / static_cast<double>(delivered[t]) : 0, 2);
            };
            const double m0 = median(rate[0]), m1 = median(rate[1]);
            const double ratio = m1 > 0 ? m0 / m1 : 0;
            table_.add({"scaling", "1 pub -> " + c.name + ", tcp, paced",
                        fmt_rate(m0) + ", " + cpu(0), fmt_rate(m1) + ", " + cpu(1),
                        fmt_fixed(ratio, 2),
                        "median of " + std::to_string(b_.scale_rounds) + " alternated runs of " +
                            fmt_count(so.messages_per_publisher) +
                            " msgs; CPU us per delivered "
                            "msg " +
                            us_per(0) + " vs " + us_per(1) + "; lost " + std::to_string(lost[0]) +
                            "/" + std::to_string(lost[1]) + (timed_out ? "; time limit hit" : "")});
            progress("scaling " + c.name + ": broker " + fmt_rate(m0) + " " + cpu(0) + ", bare " +
                     fmt_rate(m1) + " " + cpu(1));
            scale_notes.push_back(c.name + " " + us_per(0) + " vs " + us_per(1));
        }
        std::string joined;
        for (const auto& n : scale_notes) joined += (joined.empty() ? "" : "; ") + n;
        finding("scaling, target CPU us per delivered message, broker vs bare: " + joined);
    }

    const suite_options& o_;
    budget b_;
    int argc_;
    char** argv_;
    temp_dir dir_;
    zmq::context_t ctx_{1};
    targets t_;
    table table_;
    std::ostringstream findings_;
    unsigned errors_ = 0;
    unsigned tag_ = 0;
    double live_sustainable_ = 0;  // the pipeline section's highest sustainable rate (quotes/s)
};

}  // namespace

int run_suite(const suite_options& opts, int argc, char** argv) {
    suite s(opts, argc, argv);
    return s.run();
}

}  // namespace tradebus::bench
