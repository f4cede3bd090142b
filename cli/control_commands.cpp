// `tradebus status`, `halt` and `resume`: one request each over the control plane through the
// runtime's Lazy Pirate client, whose request() gives up after the timeout (and resets the
// REQ socket), so no command can hang on a dead broker.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <ostream>
#include <thread>

#include "tradebus/cli/app.hpp"
#include "tradebus/cli/endpoints.hpp"
#include "tradebus/cli/format.hpp"
#include "tradebus/cli/json.hpp"
#include "tradebus/cli/services_view.hpp"
#include "tradebus/cli/status_view.hpp"
#include "tradebus/common/process.hpp"
#include "tradebus/runtime/control_client.hpp"
#include "tradebus/schema/codec.hpp"

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
        request = schema::halt_request{.reason = opts.reason, .by = opts.by};
    } else {
        request = schema::resume_request{.reason = opts.reason, .by = opts.by};
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
