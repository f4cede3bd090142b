// `tradebus sniff`: a plain SUB socket on the broker's XPUB. It registers nothing and publishes
// nothing, so attaching or detaching never disturbs the pipeline; the only trace it leaves is
// its subscriptions (the literal prefixes of its patterns), which the broker forgets when the
// socket closes. One thread, one loop: poll with a short timeout, drain with a budget, redraw
// the stats once a second, stop on --count, --duration, a stop signal or a closed stdout.
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <ostream>

#include "tradebus/cli/app.hpp"
#include "tradebus/cli/pattern.hpp"
#include "tradebus/cli/render.hpp"
#include "tradebus/cli/sniff_last.hpp"
#include "tradebus/cli/stats.hpp"
#include "tradebus/common/process.hpp"

namespace tradebus::cli {
namespace {

// The SUB socket's receive queue. Large so a burst is absorbed here instead of being dropped
// by the broker's XPUB for this (slow, terminal-bound) subscriber; drops still show as gaps.
constexpr int sub_rcvhwm = 100'000;
// Messages handled per wakeup before output is flushed and the clock looked at again.
constexpr int drain_budget = 1024;
// Longest sleep in poll: bounds how late a stop signal or --duration is noticed.
constexpr std::int64_t max_wait_ms = 200;
constexpr std::int64_t stats_period_ms = 1000;
// How long to wait for the first connection before saying the broker is not there.
constexpr std::int64_t connect_grace_ms = 1000;

// ZeroMQ reconnects silently, so a wrong endpoint or a stopped broker would look like a quiet
// bus. This watches the SUB socket's connection events and says on stderr what is going on.
class connection_notes : public zmq::monitor_t {
  public:
    connection_notes(zmq::socket_t& sub, std::string endpoint, std::ostream& err,
                     std::int64_t start_ms)
        : endpoint_(std::move(endpoint)), err_(err), start_ms_(start_ms) {
        init(sub,
             "inproc://tradebus-sniff-monitor-" +
                 std::to_string(reinterpret_cast<std::uintptr_t>(this)),
             ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED);
    }

    // Handles pending events without blocking, then reports a broker still absent.
    void check(std::int64_t now_ms) {
        try {
            while (check_event(0)) {
            }
        } catch (const zmq::error_t& e) {
            if (e.num() != EINTR) throw;  // a signal: the loop looks at the stop flag next
        }
        if (!connected_ && !said_waiting_ && now_ms - start_ms_ >= connect_grace_ms) {
            err_ << "tradebus sniff: no broker at " << endpoint_
                 << " yet; waiting for it (Ctrl-C to stop)" << std::endl;
            said_waiting_ = true;
        }
    }

    // Waits up to `timeout_ms` for the connection (so the subscriptions are on their way).
    void wait_connected(std::int64_t timeout_ms) {
        const std::int64_t until = common::mono_ms() + timeout_ms;
        while (!connected_ && common::mono_ms() < until && !common::stop_requested()) {
            try {
                (void)check_event(20);
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
            }
        }
    }

    void on_event_connected(const zmq_event_t&, const char*) override {
        connected_ = true;
        if (said_waiting_) err_ << "tradebus sniff: connected to " << endpoint_ << std::endl;
        said_waiting_ = false;
    }

    void on_event_disconnected(const zmq_event_t&, const char*) override {
        connected_ = false;
        said_waiting_ = true;
        err_ << "tradebus sniff: lost the broker at " << endpoint_ << "; reconnecting" << std::endl;
    }

  private:
    std::string endpoint_;
    std::ostream& err_;
    std::int64_t start_ms_;
    bool connected_ = false, said_waiting_ = false;
};

// Waits until `s` is readable; false on timeout or when a signal interrupted the wait.
bool wait_readable(zmq::socket_t& s, std::int64_t timeout_ms) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    try {
        return zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) > 0;
    } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) return false;
        throw;
    }
}

// Receives one whole message without blocking; false when none is waiting.
bool receive(zmq::socket_t& s, bus_message& m) {
    zmq::message_t frame;
    if (!s.recv(frame, zmq::recv_flags::dontwait)) return false;
    m.topic.assign(frame.data<char>(), frame.size());
    m.body.clear();
    m.frames = 1;
    m.rx_ns = common::now_ns();
    while (frame.more()) {
        // The rest of a multipart message is already queued: recv cannot block here.
        if (!s.recv(frame, zmq::recv_flags::none)) break;
        m.body.append(frame.data<char>(), frame.size());
        ++m.frames;
    }
    return true;
}

std::size_t terminal_rows() {
    winsize ws{};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
    return 24;
}

}  // namespace

int run_sniff(const sniff_options& opts, environment& env) {
    const topic_filter filter = topic_filter::parse(opts.patterns);
    const output_format format = opts.json ? output_format::json : output_format::lines;
    const line_options line_opts{.utc = opts.utc};

    zmq::socket_t sub(env.zmq, zmq::socket_type::sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, sub_rcvhwm);
    common::set_curve_client(sub, env.curve);
    for (const auto& prefix : filter.subscriptions()) sub.set(zmq::sockopt::subscribe, prefix);

    const std::int64_t start_ms = common::mono_ms();
    // Monitor before connecting so the first CONNECTED event is seen; inproc has no events.
    std::unique_ptr<connection_notes> notes;
    if (opts.xpub.rfind("inproc://", 0) != 0) {
        notes = std::make_unique<connection_notes>(sub, opts.xpub, env.err, start_ms);
    }
    sub.connect(opts.xpub);

    bus_message m;
    std::string batch;
    std::uint64_t seen = 0;
    bool done = false;
    // --last: subscribed first (above), then the snapshot, so nothing falls in between; live
    // messages the snapshot already showed are skipped below.
    std::optional<last_values> last;
    if (opts.last) {
        if (notes) notes->wait_connected(connect_grace_ms);
        last = fetch_last_values(env.zmq, opts.control, filter.subscriptions(),
                                 std::chrono::milliseconds(std::llround(opts.timeout_s * 1000)),
                                 env.err);
        for (const auto& cached : last->messages) {
            if (!filter.matches(cached.topic)) continue;
            std::string line = render_message(cached, decode_message(cached), format, line_opts);
            mark_cached(line, format);
            batch += line;
            batch.push_back('\n');
            if (opts.count > 0 && ++seen >= opts.count) {
                done = true;
                break;
            }
        }
        env.out << batch;
        env.out.flush();
        batch.clear();
    }

    const std::int64_t deadline_ms = opts.duration_s > 0
                                         ? start_ms + std::llround(opts.duration_s * 1000.0)
                                         : std::numeric_limits<std::int64_t>::max();
    stats_table stats(start_ms);
    std::int64_t next_stats_ms = start_ms + stats_period_ms;
    const auto draw_stats = [&](std::int64_t now_ms) {
        stats.roll(now_ms);
        if (env.out_is_tty) {
            const std::size_t rows = terminal_rows();
            // Home + clear, then as many topic rows as fit above the header and totals.
            env.out << "\x1b[H\x1b[2J" << stats.render(rows > 5 ? rows - 4 : 1);
        } else {
            env.out << "# " << format_time(common::now_ns(), opts.utc) << "\n"
                    << stats.render(std::numeric_limits<std::size_t>::max()) << "\n";
        }
        env.out.flush();
        return static_cast<bool>(env.out);  // false: stdout was closed
    };

    while (!done && !common::stop_requested()) {
        std::int64_t now_ms = common::mono_ms();
        if (notes) notes->check(now_ms);
        if (now_ms >= deadline_ms) break;
        if (opts.stats && now_ms >= next_stats_ms) {
            if (!draw_stats(now_ms)) break;
            // Keep a steady 1 s cadence; after a stall, restart it rather than catch up.
            next_stats_ms += stats_period_ms;
            if (next_stats_ms <= now_ms) next_stats_ms = now_ms + stats_period_ms;
        }
        std::int64_t wait_ms = std::min(max_wait_ms, deadline_ms - now_ms);
        if (opts.stats) wait_ms = std::min(wait_ms, next_stats_ms - now_ms);
        if (!wait_readable(sub, std::max<std::int64_t>(wait_ms, 0))) continue;

        for (int i = 0; i < drain_budget && receive(sub, m); ++i) {
            if (!filter.matches(m.topic)) continue;
            const auto decoded = decode_message(m);
            if (last && decoded && last->merge.is_duplicate(m.topic, decoded.value().env)) {
                continue;
            }
            if (opts.stats) {
                stats.record(m.topic, m.topic.size() + m.body.size(),
                             decoded ? &decoded.value().env : nullptr);
            } else {
                batch += render_message(m, decoded, format, line_opts);
                batch.push_back('\n');
            }
            if (opts.count > 0 && ++seen >= opts.count) {
                done = true;
                break;
            }
        }
        if (!batch.empty()) {
            env.out << batch;
            env.out.flush();
            batch.clear();
            // stdout closed (e.g. `| head`): nobody is reading, so stop quietly.
            if (!env.out) break;
        }
    }
    if (opts.stats) (void)draw_stats(common::mono_ms());  // the final numbers stay on screen
    return exit_code::ok;
}

}  // namespace tradebus::cli
