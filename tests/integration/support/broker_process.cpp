#include "broker_process.hpp"

#include <doctest/doctest.h>

#include "bus_clients.hpp"
#include "net.hpp"

#ifndef TRADEBUS_EXE_TRADEBUS_BROKER
#error "TRADEBUS_EXE_TRADEBUS_BROKER must name the broker executable (tests/integration)"
#endif

namespace tradebus::test {

std::string broker_executable() { return TRADEBUS_EXE_TRADEBUS_BROKER; }
std::string source_dir() { return TRADEBUS_SOURCE_DIR; }

broker_process::broker_process(zmq::context_t& ctx, const temp_dir& dir, broker_settings s)
    : ctx_(ctx), keys_(s.keys), log_path_(dir.file("broker.log")), env_(s.env) {
    if (s.ipc) {
        xsub = ipc_endpoint(dir, "xsub.ipc");
        xpub = ipc_endpoint(dir, "xpub.ipc");
        control = ipc_endpoint(dir, "control.ipc");
        if (s.recorder) recorder = ipc_endpoint(dir, "recorder.ipc");
    } else {
        xsub = free_tcp_endpoint();
        xpub = free_tcp_endpoint();
        control = free_tcp_endpoint();
        while (xpub == xsub) xpub = free_tcp_endpoint();
        while (control == xsub || control == xpub) control = free_tcp_endpoint();
        while (s.recorder &&
               (recorder.empty() || recorder == xsub || recorder == xpub || recorder == control)) {
            recorder = free_tcp_endpoint();
        }
    }
    std::string toml = "[broker]\nname = \"broker\"\nlog_level = \"debug\"\n";
    toml += "[endpoints]\nxsub = \"" + xsub + "\"\nxpub = \"" + xpub + "\"\ncontrol = \"" +
            control + "\"\n";
    if (!recorder.empty()) toml += "recorder = \"" + recorder + "\"\n";
    toml += "[data]\nmax_message_bytes = " + std::to_string(s.max_message_bytes) + "\n";
    if (s.sndhwm > 0) toml += "sndhwm = " + std::to_string(s.sndhwm) + "\n";
    if (s.rcvhwm > 0) toml += "rcvhwm = " + std::to_string(s.rcvhwm) + "\n";
    toml += s.data_toml;
    toml += "[heartbeat]\ninterval_ms = " + std::to_string(s.interval_ms) +
            "\nliveness = " + std::to_string(s.liveness) +
            "\ngone_after_ms = " + std::to_string(s.gone_after_ms) + "\n";
    toml += "[trading]\nstate_file = \"" + s.trading_state_file + "\"\nmissing_state = \"" +
            s.missing_state + "\"\n";
    toml += s.pipeline_toml + "\n" + s.extra_toml + "\n";
    config_path = dir.write("broker.toml", toml);
    start();
}

void broker_process::start() {
    process_.reset();  // a previous incarnation is stopped first
    process_ = std::make_unique<process_guard>(
        broker_executable(), std::vector<std::string>{"--config", config_path.string()}, log_path_,
        env_);
    (void)wait_until_answering(ctx_, control, process_.get(), std::chrono::seconds(15), keys_);
}

int broker_process::stop() { return process_->stop(); }

schema::status_reply broker_process::status(std::int64_t max_topics) {
    control_client c(ctx_, control, keys_);
    schema::status_request req;
    req.max_topics = max_topics;
    return c.call<schema::status_reply>(req);
}

schema::status_reply wait_until_answering(zmq::context_t& ctx, const std::string& control_endpoint,
                                          process_guard* proc, std::chrono::milliseconds timeout,
                                          const common::curve_client& keys) {
    control_client c(ctx, control_endpoint, keys);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (proc != nullptr && !proc->running()) {
            FAIL("the process exited (status " << proc->wait_exit(0ms).value_or(-1)
                                               << ") before answering on " << control_endpoint);
        }
        if (auto reply = c.request(schema::status_request{}, 200ms)) {
            if (auto* s = std::get_if<schema::status_reply>(&*reply)) return *s;
        }
    }
    FAIL("no status reply from " << control_endpoint << " within " << timeout.count() << " ms");
    return {};
}

}  // namespace tradebus::test
