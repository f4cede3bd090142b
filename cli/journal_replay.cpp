// `tradebus journal replay`: republishes journaled events into the bus through the broker's
// XSUB, on the streaming reader (bounded memory whatever the size of the log).
//
// The publisher is an XPUB socket with XPUB_NODROP: to the broker it is an ordinary
// publisher, but it also receives the subscriptions the broker's XSUB forwards at connect,
// which is how replay knows the way is open before sending (the slow-joiner problem), and
// with NODROP a full queue makes it wait instead of dropping events.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <optional>
#include <ostream>
#include <thread>
#include <zmq.hpp>

#include "tradebus/cli/app.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/cli/pattern.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {

namespace {

constexpr const char* who = "tradebus journal replay: ";

using clock = std::chrono::steady_clock;

// After the first subscription, wait this long for no further one before sending.
constexpr auto quiet_period = std::chrono::milliseconds(100);

// Polls `s` for `events` up to `ms`; EINTR (a stop signal) counts as nothing ready.
bool poll_for(zmq::socket_t& s, short events, long ms) {
    zmq::pollitem_t item{s.handle(), 0, events, 0};
    try {
        return zmq::poll(&item, 1, std::chrono::milliseconds(ms)) > 0;
    } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) return false;
        throw;
    }
}

// Reads the subscription frames waiting on the XPUB; the number of them.
std::size_t drain_subscriptions(zmq::socket_t& s) {
    std::size_t n = 0;
    zmq::message_t frame;
    while (s.recv(frame, zmq::recv_flags::dontwait)) ++n;
    return n;
}

// Waits until subscriptions have arrived and then stopped arriving for quiet_period, at most
// `settle_s` in all. False when none arrived.
bool settle(zmq::socket_t& pub, double settle_s) {
    const auto deadline = clock::now() + std::chrono::duration_cast<clock::duration>(
                                             std::chrono::duration<double>(settle_s));
    bool any = false;
    auto quiet_until = deadline;
    while (!common::stop_requested()) {
        const auto now = clock::now();
        const auto until = any && quiet_until < deadline ? quiet_until : deadline;
        if (now >= until) break;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
        if (poll_for(pub, ZMQ_POLLIN, std::max<long>(1, static_cast<long>(left.count())))) {
            if (drain_subscriptions(pub) > 0) {
                any = true;
                quiet_until = clock::now() + quiet_period;
            }
        }
    }
    return any;
}

// Sends [topic][body], waiting (and reading subscriptions) while the queue is full. False on
// a stop signal.
bool send_event(zmq::socket_t& pub, std::string_view topic, std::string_view body) {
    while (true) {
        if (pub.send(zmq::buffer(topic.data(), topic.size()),
                     zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
            // Once the first frame is queued the second always is (ZeroMQ queues whole messages).
            (void)pub.send(zmq::buffer(body.data(), body.size()), zmq::send_flags::none);
            return true;
        }
        if (common::stop_requested()) return false;
        drain_subscriptions(pub);
        poll_for(pub, ZMQ_POLLOUT | ZMQ_POLLIN, 100);
    }
}

// Sleeps until `target`, in slices so a stop signal is seen. False on a stop signal.
bool wait_until(clock::time_point target) {
    while (clock::now() < target) {
        if (common::stop_requested()) return false;
        const auto left = target - clock::now();
        std::this_thread::sleep_for(std::min<clock::duration>(left, std::chrono::milliseconds(50)));
    }
    return !common::stop_requested();
}

}  // namespace

int run_journal_replay(const replay_options& opts, environment& env) {
    const topic_filter filter = topic_filter::parse(opts.patterns);
    std::optional<journal::reader> reader;
    try {
        reader.emplace(opts.dir);
    } catch (const std::exception& e) {
        env.err << who << e.what() << std::endl;
        return exit_code::failure;
    }

    zmq::socket_t pub(env.zmq, zmq::socket_type::xpub);
    pub.set(zmq::sockopt::xpub_nodrop, 1);
    common::set_curve_client(pub, env.curve);
    pub.set(zmq::sockopt::linger, 5000);  // let the queued tail reach the broker on exit
    pub.connect(opts.xsub);
    if (!settle(pub, opts.settle_s)) {
        if (common::stop_requested()) return exit_code::interrupted;
        env.err << who << "no subscription arrived from " << opts.xsub << " within "
                << opts.settle_s
                << " s: is the broker running there, with any subscriber? Nothing was sent"
                << std::endl;
        pub.set(zmq::sockopt::linger, 0);
        return exit_code::failure;
    }

    std::uint64_t sent = 0, bytes = 0, gaps = 0, undecodable = 0, reserved = 0, too_long = 0,
                  damaged = 0;
    const auto start = clock::now();
    std::optional<std::int64_t> first_ts;
    bool stopped = false;
    std::string topic;
    while (const journal::read_item* item = reader->next()) {
        if (common::stop_requested()) {
            stopped = true;
            break;
        }
        if (item->what == journal::read_item::status::corrupt) {
            env.err << who << printable(item->segment) << ":" << item->offset << ": "
                    << printable(item->reason) << " (" << item->bytes << " bytes skipped)"
                    << std::endl;
            ++damaged;
            continue;
        }
        const journal::record& rec = item->rec;
        if (opts.since_ns && rec.recv_ts_ns < *opts.since_ns) continue;
        if (opts.until_ns && rec.recv_ts_ns >= *opts.until_ns) continue;
        if (!filter.matches(rec.topic)) continue;
        if ((rec.flags & journal::format::flags::recorder_mark) != 0) continue;  // bookkeeping
        if ((rec.flags & journal::format::flags::gap_marker) != 0) {
            ++gaps;
            continue;
        }
        if ((rec.flags & journal::format::flags::undecodable) != 0) {
            ++undecodable;
            continue;
        }
        topic.assign(opts.prefix);
        topic.append(rec.topic);
        if (topic.starts_with(schema::topics::sys)) {
            ++reserved;
            continue;
        }
        if (topic.size() > schema::topics::max_topic_bytes) {  // the broker would drop it
            ++too_long;
            continue;
        }
        if (opts.speed > 0) {
            if (!first_ts) first_ts = rec.recv_ts_ns;
            const double offset_ns = static_cast<double>(rec.recv_ts_ns - *first_ts) / opts.speed;
            if (offset_ns > 0 &&
                !wait_until(start + std::chrono::duration_cast<clock::duration>(
                                        std::chrono::duration<double, std::nano>(offset_ns)))) {
                stopped = true;
                break;
            }
        }
        if (!send_event(pub, topic, rec.body)) {
            stopped = true;
            break;
        }
        ++sent;
        bytes += rec.body.size();
        if (opts.count > 0 && sent >= opts.count) break;
    }
    const auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - start).count();
    env.out << "replayed " << sent << " record(s) (" << format_bytes(static_cast<double>(bytes))
            << ") to " << opts.xsub << (opts.prefix.empty() ? "" : " under " + opts.prefix)
            << " in " << format_duration_ms(elapsed_ms) << (stopped ? " (stopped)" : "") << "\n";
    env.out << "skipped: " << gaps << " gap marker(s), " << undecodable << " undecodable, "
            << reserved << " sys.* (only the broker publishes there; --prefix moves them out)";
    if (too_long > 0) env.out << ", " << too_long << " topic(s) over 255 bytes with the prefix";
    if (damaged > 0) env.out << ", " << damaged << " damaged (see stderr)";
    env.out << "\n";
    env.out.flush();
    return damaged > 0 ? exit_code::failure : exit_code::ok;
}

}  // namespace tradebus::cli
