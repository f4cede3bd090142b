// `tradebus status`, `halt`, `resume`, `cancel` and `flatten`: one request each over the
// control plane through the runtime's Lazy Pirate client, whose request() gives up after the
// timeout (and resets the REQ socket), so no command can hang on a dead broker. `cancel` and
// `flatten` then wait, with the same timeout per step, for the answers on the data plane.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <thread>

#include "tradebus/cli/app.hpp"
#include "tradebus/cli/endpoints.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/cli/services_view.hpp"
#include "tradebus/cli/status_view.hpp"
#include "tradebus/common/curve.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/frame_pairs.hpp"
#include "tradebus/schema/money.hpp"
#include "tradebus/schema/topics.hpp"

namespace tradebus::cli {
namespace {

std::chrono::milliseconds to_ms(double seconds) {
    return std::chrono::milliseconds(std::llround(seconds * 1000.0));
}

std::string seconds_text(double seconds) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", seconds);
    return buf;
}

struct interrupted {};

struct answer {
    std::optional<schema::control_message> reply;
    bool timed_out = false;
    std::string problem;  // why there is no reply
};

// One request. Throws interrupted when a stop signal cut the wait short.
answer ask(runtime::control_client& client, const schema::control_message& request,
           double timeout_s) {
    std::string bytes;
    schema::encode_control(request, bytes);
    std::optional<std::string> reply;
    try {
        reply = client.request(bytes);
    } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) throw interrupted{};
        throw;
    }
    if (!reply) {
        if (common::stop_requested()) throw interrupted{};
        return {std::nullopt, true,
                "no reply from the broker at " + client.endpoint() + " within " +
                    seconds_text(timeout_s) + "s"};
    }
    auto decoded = schema::decode_control(*reply);
    if (!decoded) {
        return {std::nullopt, false,
                "undecodable reply from the broker at " + client.endpoint() + ": " +
                    decoded.error().to_string()};
    }
    return {std::move(decoded).value(), false, {}};
}

// Sleeps up to `ms` in short steps; false when a stop signal arrived.
bool pause(std::int64_t ms) {
    const std::int64_t until = common::mono_ms() + ms;
    while (!common::stop_requested()) {
        const std::int64_t left = until - common::mono_ms();
        if (left <= 0) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(std::min<std::int64_t>(left, 100)));
    }
    return false;
}

// Waits until `sub` finished its handshake with the broker (its subscriptions go out right
// after it), at most `timeout_ms`; false when it did not.
class handshake_wait : public zmq::monitor_t {
  public:
    explicit handshake_wait(zmq::socket_t& sub) {
        init(sub,
             "inproc://tradebus-cancel-monitor-" +
                 std::to_string(reinterpret_cast<std::uintptr_t>(this)),
             ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    }
    bool wait(std::int64_t timeout_ms) {
        const std::int64_t until = common::mono_ms() + timeout_ms;
        while (!done_ && common::mono_ms() < until) {
            if (common::stop_requested()) throw interrupted{};
            try {
                (void)check_event(20);
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
            }
        }
        return done_;
    }
    void on_event_handshake_succeeded(const zmq_event_t&, const char*) override { done_ = true; }

  private:
    bool done_ = false;
};

std::uint64_t new_request_id() { return common::random_id(); }

std::string cancel_scope(const cancel_options& o) {
    if (o.all) return "every resting order";
    if (!o.order_id.empty()) return "order " + printable(o.order_id);
    return "the resting orders of " + printable(o.symbol);
}

// Every risk node's last risk.limits, from the broker's last-value cache (one snapshot page).
// Empty when the broker does not cache them or does not answer: status shows what it can.
std::vector<cached_limits> fetch_risk_limits(runtime::control_client& client) {
    std::string bytes;
    schema::encode_control(schema::snapshot_request{std::string(schema::topics::limits), ""},
                           bytes);
    auto frames = client.request_frames(bytes);
    if (!frames || frames->empty()) return {};
    const auto decoded = schema::decode_control(frames->front());
    const auto* header = decoded ? std::get_if<schema::snapshot_reply>(&decoded.value()) : nullptr;
    std::vector<schema::frame_pair> pairs;
    if (header == nullptr || !header->covered ||
        schema::split_frame_pairs(*frames, header->count, pairs)) {
        return {};
    }
    std::vector<cached_limits> out;
    for (const auto& p : pairs) {
        auto ev = schema::decode_event(p.body);
        if (!ev || !schema::topics::type_belongs(ev.value().type_name(), p.topic)) continue;
        if (auto* l = std::get_if<schema::risk_limits>(&ev.value().body)) {
            out.push_back({ev.value().env.src, ev.value().env.ts_ns, std::move(*l)});
        }
    }
    return out;
}

}  // namespace

std::string operator_identity() {
    const char* user = std::getenv("USER");
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return std::string(user != nullptr && *user != '\0' ? user : "operator") + "@" +
           (host[0] != '\0' ? host : "localhost");
}

int run_status(const status_options& opts, environment& env) {
    runtime::control_client client(env.zmq, opts.control, to_ms(opts.timeout_s), env.curve);
    const bool watch = opts.watch_s > 0;
    try {
        do {
            const auto [reply, timed_out, problem] =
                ask(client, schema::status_request{}, opts.timeout_s);
            if (!reply) {
                env.err << "tradebus status: " << problem
                        << (!timed_out ? ""
                                       : " (" + std::string(silent_broker_hint(env.curve)) + ")")
                        << std::endl;
                if (!watch) return exit_code::failure;
            } else if (const auto* s = std::get_if<schema::status_reply>(&*reply)) {
                if (opts.json) {
                    env.out << control_json(*reply) << "\n";
                } else {
                    if (watch && env.out_is_tty) env.out << "\x1b[H\x1b[2J";
                    env.out << format_status(*s, opts.control, opts.topics);
                    // Services are a separate request (a broker without them answers
                    // unknown_type, and the section is left out).
                    const auto svc = ask(client, schema::services_request{}, opts.timeout_s);
                    if (svc.reply) {
                        if (const auto* list = std::get_if<schema::services_reply>(&*svc.reply)) {
                            env.out << "\nservices:\n" << format_services(*list);
                        }
                    }
                    env.out << format_risk_limits(fetch_risk_limits(client));
                    if (watch && !env.out_is_tty) env.out << "\n";
                }
                env.out.flush();
            } else if (const auto* e = std::get_if<schema::error_reply>(&*reply)) {
                env.err << "tradebus status: the broker refused: " << printable(e->code) << ": "
                        << printable(e->reason) << std::endl;
                return exit_code::failure;
            } else {
                env.err << "tradebus status: unexpected reply \"" << schema::type_name(*reply)
                        << "\" from the broker at " << opts.control << std::endl;
                return exit_code::failure;
            }
        } while (watch && pause(to_ms(opts.watch_s).count()));
    } catch (const interrupted&) {
        return watch ? exit_code::ok : exit_code::interrupted;
    }
    return exit_code::ok;
}

int run_trading(const trading_options& opts, environment& env) {
    const std::string_view verb = opts.halt ? "halt" : "resume";
    runtime::control_client client(env.zmq, opts.control, to_ms(opts.timeout_s), env.curve);
    schema::control_message request;
    if (opts.halt) {
        request = schema::halt_request{.reason = opts.reason,
                                       .by = opts.by,
                                       .symbol = opts.symbol,
                                       .strategy = opts.strategy,
                                       .reduce_only = opts.reduce_only};
    } else {
        request = schema::resume_request{
            .reason = opts.reason, .by = opts.by, .symbol = opts.symbol, .strategy = opts.strategy};
    }
    answer a;
    try {
        a = ask(client, request, opts.timeout_s);
    } catch (const interrupted&) {
        env.err << "tradebus " << verb << ": interrupted; the broker may or may not have acted "
                << "(check with tradebus status)" << std::endl;
        return exit_code::interrupted;
    }
    const auto& reply = a.reply;
    if (!reply) {
        env.err << "tradebus " << verb << ": " << a.problem
                << (a.timed_out ? "; the trading state is unknown (check with tradebus status)"
                                : "")
                << std::endl;
        return exit_code::failure;
    }
    if (const auto* ok = std::get_if<schema::ok_reply>(&*reply)) {
        env.out << (ok->detail.empty() ? (opts.halt ? "trading halted" : "trading resumed")
                                       : printable(ok->detail))
                << " [by " << printable(opts.by) << ": " << printable(opts.reason) << "]\n";
        env.out.flush();
        return exit_code::ok;
    }
    if (const auto* e = std::get_if<schema::error_reply>(&*reply)) {
        if (opts.halt && e->code == schema::error_code::not_durable) {
            // In force, but only until a broker restart: the reason says so.
            env.err << "tradebus " << verb << ": " << printable(e->reason) << std::endl;
            return exit_code::failure;
        }
        env.err << "tradebus " << verb << ": the broker refused: " << printable(e->code) << ": "
                << printable(e->reason) << std::endl;
        return exit_code::failure;
    }
    env.err << "tradebus " << verb << ": unexpected reply \"" << schema::type_name(*reply)
            << "\" from the broker at " << opts.control << std::endl;
    return exit_code::failure;
}

}  // namespace tradebus::cli

namespace tradebus::cli {
namespace {

// The answer to an operator request comes on the data plane (cancel, flatten): a SUB socket
// subscribed to it before the request goes out, so no answer can pass unseen.
class data_plane_answers {
  public:
    data_plane_answers(environment& env, std::string_view cmd,
                       std::initializer_list<std::string_view> prefixes)
        : env_(env), cmd_(cmd), sub_(env.zmq, zmq::socket_type::sub) {
        sub_.set(zmq::sockopt::linger, 0);
        common::set_curve_client(sub_, env.curve);
        for (const auto prefix : prefixes) sub_.set(zmq::sockopt::subscribe, prefix);
    }

    /// Connects to the broker's XPUB and waits for the handshake; false (said why) without one.
    bool connect(const std::string& xpub, double timeout_s) {
        std::unique_ptr<handshake_wait> handshake;
        if (xpub.rfind("inproc://", 0) != 0) handshake = std::make_unique<handshake_wait>(sub_);
        sub_.connect(xpub);
        if (handshake && !handshake->wait(to_ms(timeout_s).count())) {
            env_.err << "tradebus " << cmd_ << ": no connection to the broker's XPUB at " << xpub
                     << " within " << seconds_text(timeout_s) << "s; nothing was requested"
                     << std::endl;
            return false;
        }
        return true;
    }

    /// Sends `request` to the broker: true when it replied ok, else false (said why).
    bool ask_broker(const std::string& control, const schema::control_message& request,
                    double timeout_s, std::uint64_t request_id) {
        runtime::control_client client(env_.zmq, control, to_ms(timeout_s), env_.curve);
        answer a;
        try {
            a = ask(client, request, timeout_s);
        } catch (const interrupted&) {
            env_.err << "tradebus " << cmd_ << ": interrupted; the broker may or may not have "
                     << "passed the request on (request " << request_id << ")" << std::endl;
            throw;
        }
        if (!a.reply) {
            env_.err << "tradebus " << cmd_ << ": " << a.problem
                     << (a.timed_out ? "; whether anything was done is unknown" : "") << std::endl;
            return false;
        }
        if (const auto* e = std::get_if<schema::error_reply>(&*a.reply)) {
            env_.err << "tradebus " << cmd_ << ": the broker refused: " << printable(e->code)
                     << ": " << printable(e->reason) << std::endl;
            return false;
        }
        if (!std::holds_alternative<schema::ok_reply>(*a.reply)) {
            env_.err << "tradebus " << cmd_ << ": unexpected reply \""
                     << schema::type_name(*a.reply) << "\" from the broker at " << control
                     << std::endl;
            return false;
        }
        return true;
    }

    /// The next event (decoded, on a topic its type belongs to) before `until` (mono ms);
    /// nullopt at the deadline. Throws interrupted on a stop signal.
    std::optional<schema::event> next(std::int64_t until) {
        while (true) {
            if (common::stop_requested()) throw interrupted{};
            const std::int64_t left = until - common::mono_ms();
            if (left <= 0) return std::nullopt;
            zmq::pollitem_t item{sub_.handle(), 0, ZMQ_POLLIN, 0};
            try {
                if (zmq::poll(&item, 1,
                              std::chrono::milliseconds(std::min<std::int64_t>(left, 100))) == 0) {
                    continue;
                }
            } catch (const zmq::error_t& e) {
                if (e.num() == EINTR) continue;
                throw;
            }
            zmq::message_t topic, body;
            if (!sub_.recv(topic, zmq::recv_flags::dontwait)) continue;
            if (!topic.more() || !sub_.recv(body, zmq::recv_flags::dontwait) || body.more()) {
                while (body.more() && sub_.recv(body, zmq::recv_flags::dontwait)) {
                }
                continue;  // not a tradebus event
            }
            auto ev = schema::decode_event(body.to_string_view());
            if (!ev || !schema::topics::type_belongs(ev->type_name(), topic.to_string_view())) {
                continue;
            }
            return std::move(ev).value();
        }
    }

  private:
    environment& env_;
    std::string_view cmd_;
    zmq::socket_t sub_;
};

// One line per order an operator's request cancelled (cancel, flatten).
void print_cancelled(std::ostream& out, const schema::order_cancelled& c) {
    out << "cancelled " << printable(c.order_id) << " " << printable(c.symbol) << " "
        << schema::to_string(c.dir) << " " << c.qty << " (" << c.leaves_qty << " unfilled)\n";
}

}  // namespace

int run_cancel(const cancel_options& opts, environment& env) {
    namespace topics = schema::topics;
    const std::uint64_t request_id = new_request_id();
    data_plane_answers answers(
        env, "cancel", {topics::exec_cancelled, topics::cancel_done, topics::cancel_reject});
    try {
        if (!answers.connect(opts.xpub, opts.timeout_s)) return exit_code::failure;
        if (!answers.ask_broker(opts.control,
                                schema::cancel_command{.request_id = request_id,
                                                       .order_id = opts.order_id,
                                                       .symbol = opts.symbol,
                                                       .all = opts.all,
                                                       .reason = opts.reason,
                                                       .by = opts.by},
                                opts.timeout_s, request_id)) {
            return exit_code::failure;
        }
        // Execution's answer: order_cancelled events for this request, then cancel_done, or
        // one cancel_reject. Anything else on these topics (other requests, IOC remainders) is
        // skipped.
        std::uint64_t printed = 0;
        const std::int64_t until = common::mono_ms() + to_ms(opts.timeout_s).count();
        while (const auto ev = answers.next(until)) {
            if (const auto* c = std::get_if<schema::order_cancelled>(&ev->body)) {
                if (c->request_id != request_id) continue;
                ++printed;
                print_cancelled(env.out, *c);
            } else if (const auto* d = std::get_if<schema::cancel_done>(&ev->body)) {
                if (d->request_id != request_id) continue;
                env.out << d->cancelled << " order(s) cancelled: " << cancel_scope(opts);
                if (d->cancelled == 0) env.out << " (nothing was resting)";
                env.out << "\n";
                env.out.flush();
                if (printed < d->cancelled) {
                    env.err << "tradebus cancel: " << d->cancelled - printed
                            << " cancellation(s) were not received here (see tradebus journal cat "
                            << topics::exec_cancelled << ")" << std::endl;
                }
                return exit_code::ok;
            } else if (const auto* r = std::get_if<schema::cancel_reject>(&ev->body)) {
                if (r->request_id != request_id) continue;
                env.out.flush();
                env.err << "tradebus cancel: refused by execution: " << printable(r->code) << ": "
                        << printable(r->reason) << std::endl;
                return exit_code::failure;
            }
        }
    } catch (const interrupted&) {
        env.out.flush();
        env.err << "tradebus cancel: interrupted (request " << request_id << ")" << std::endl;
        return exit_code::interrupted;
    }
    env.out.flush();
    env.err << "tradebus cancel: the broker passed request " << request_id
            << " on, but no execution node answered within " << seconds_text(opts.timeout_s)
            << "s (is execution running? tradebus status)" << std::endl;
    return exit_code::failure;
}

int run_flatten(const flatten_options& opts, environment& env) {
    namespace topics = schema::topics;
    const std::uint64_t request_id = new_request_id();
    const std::string scope = opts.symbol.empty() ? std::string("every symbol") : opts.symbol;
    data_plane_answers answers(
        env, "flatten",
        {topics::exec_cancelled, topics::flatten_done, topics::exec_fill, topics::exec_reject});
    // A closing order until it ends: what filled, and how it ended when not completely.
    struct closing {
        schema::working_order order;
        std::int64_t filled = 0;
        std::int64_t notional = 0;  // sum of qty x px (1e-8 money units, saturated)
        bool ended = false;
        std::string end;
    };
    std::vector<closing> orders;
    const auto find = [&](const std::string& id) -> closing* {
        for (auto& c : orders) {
            if (c.order.order_id == id && !c.ended) return &c;
        }
        return nullptr;
    };
    // The end of a closing order: fills, the IOC remainder's cancel, execution's reject.
    const auto apply = [&](const schema::event& ev) {
        if (const auto* f = std::get_if<schema::fill>(&ev.body)) {
            if (closing* c = find(f->order_id)) {
                c->filled += f->qty;
                c->notional = schema::money::add(c->notional, schema::money::mul(f->qty, f->px));
                c->ended = f->leaves_qty == 0;
            }
        } else if (const auto* x = std::get_if<schema::order_cancelled>(&ev.body)) {
            if (closing* c = find(x->order_id)) {
                c->ended = true;
                c->end = std::to_string(x->leaves_qty) + " not filled: " + x->reason;
            }
        } else if (const auto* r = std::get_if<schema::exec_reject>(&ev.body)) {
            if (closing* c = find(r->order_id)) {
                c->ended = true;
                c->end = "rejected by execution: " + r->code + ": " + r->reason;
            }
        }
    };
    try {
        if (!answers.connect(opts.xpub, opts.timeout_s)) return exit_code::failure;
        if (!answers.ask_broker(opts.control,
                                schema::flatten_command{.request_id = request_id,
                                                        .symbol = opts.symbol,
                                                        .reason = opts.reason,
                                                        .by = opts.by},
                                opts.timeout_s, request_id)) {
            return exit_code::failure;
        }
        // Execution cancels the resting orders; risk then sends the closing orders and
        // flatten_done naming them. Their fills can overtake flatten_done on the way here:
        // kept (bounded) until it names them.
        constexpr std::size_t max_early = 65'536;
        std::vector<schema::event> early;
        std::optional<schema::flatten_done> done;
        const std::int64_t until = common::mono_ms() + to_ms(opts.timeout_s).count();
        while (!done) {
            auto ev = answers.next(until);
            if (!ev) {
                env.out.flush();
                env.err << "tradebus flatten: the broker passed request " << request_id
                        << " on, but no risk node answered within " << seconds_text(opts.timeout_s)
                        << "s (is risk running? tradebus status); resting orders may have been "
                           "cancelled, no position was closed"
                        << std::endl;
                return exit_code::failure;
            }
            if (const auto* c = std::get_if<schema::order_cancelled>(&ev->body);
                c != nullptr && c->request_id == request_id) {
                print_cancelled(env.out, *c);
            } else if (const auto* d = std::get_if<schema::flatten_done>(&ev->body)) {
                if (d->request_id == request_id) done = *d;
            } else if (early.size() < max_early) {
                early.push_back(std::move(*ev));
            }
        }
        env.out << done->cancelled << " resting order(s) cancelled: " << scope << "\n";
        if (!done->error.empty()) {
            env.out.flush();
            env.err << "tradebus flatten: risk: " << printable(done->error) << std::endl;
            return exit_code::failure;
        }
        for (const auto& o : done->closing) {
            env.out << "closing " << printable(o.symbol) << ": " << schema::to_string(o.dir) << " "
                    << o.open_qty << " (order " << printable(o.order_id) << ")\n";
            orders.push_back({.order = o, .filled = 0, .notional = 0, .ended = false, .end = {}});
        }
        env.out.flush();
        for (const auto& ev : early) apply(ev);
        const std::int64_t orders_until = common::mono_ms() + to_ms(opts.timeout_s).count();
        const auto all_ended = [&] {
            return std::all_of(orders.begin(), orders.end(),
                               [](const closing& c) { return c.ended; });
        };
        while (!all_ended()) {
            const auto ev = answers.next(orders_until);
            if (!ev) break;
            apply(*ev);
        }

        bool flat = true;
        for (const auto& c : orders) {
            const auto& o = c.order;
            env.out << printable(o.symbol) << ": " << schema::to_string(o.dir) << " " << c.filled
                    << " of " << o.open_qty << " filled";
            if (c.filled > 0) {
                env.out << " at " << format_fixed(c.notional / c.filled);
            }
            if (c.filled == o.open_qty) {
                env.out << ": closed\n";
                continue;
            }
            flat = false;
            env.out << (c.ended ? "; " + printable(c.end)
                                : "; no end seen within " + seconds_text(opts.timeout_s) + "s")
                    << "\n";
        }
        for (const auto& l : done->left) {
            flat = false;
            env.out << printable(l.symbol) << ": position " << l.qty
                    << " left open: " << printable(l.reason) << "\n";
        }
        for (const auto& w : done->working) {
            flat = false;
            env.out << printable(w.symbol) << ": order " << printable(w.order_id) << " "
                    << schema::to_string(w.dir) << " " << w.open_qty
                    << " still working (it had not reached execution): flatten again once it "
                       "has ended\n";
        }
        if (orders.empty() && done->left.empty() && done->working.empty()) {
            env.out << "flat: " << scope << " (no position to close)\n";
        } else {
            env.out << (flat ? "flat: " : "NOT flat: ") << scope << "\n";
        }
        env.out.flush();
        return flat ? exit_code::ok : exit_code::failure;
    } catch (const interrupted&) {
        env.out.flush();
        env.err << "tradebus flatten: interrupted (request " << request_id << ")" << std::endl;
        return exit_code::interrupted;
    }
}

}  // namespace tradebus::cli
