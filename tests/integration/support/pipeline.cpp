#include "pipeline.hpp"

#include <doctest/doctest.h>

#include <thread>

namespace tradebus::test {

namespace {
const std::map<std::string, std::string>& depends_on() {
    static const std::map<std::string, std::string> deps = {
        {"journal", "[]"},
        {"marketdata", R"(["journal"])"},
        {"execution", R"(["journal"])"},
        {"risk", R"(["journal", "execution"])"},
        {"strategy", R"(["journal", "risk"])"},
    };
    return deps;
}
}  // namespace

std::string pipeline_broker_toml() {
    std::string out;
    for (const auto& [kind, deps] : depends_on()) {
        out += "[pipeline." + kind + "]\ndepends_on = " + deps + "\n";
    }
    return out;
}

std::string node_executable(const std::string& kind) {
    static const std::map<std::string, std::string> exes = {
#ifdef TRADEBUS_EXE_TRADEBUS_MARKETDATA
        {"marketdata", TRADEBUS_EXE_TRADEBUS_MARKETDATA},
#endif
#ifdef TRADEBUS_EXE_TRADEBUS_STRATEGY
        {"strategy", TRADEBUS_EXE_TRADEBUS_STRATEGY},
#endif
#ifdef TRADEBUS_EXE_TRADEBUS_RISK
        {"risk", TRADEBUS_EXE_TRADEBUS_RISK},
#endif
#ifdef TRADEBUS_EXE_TRADEBUS_EXECUTION
        {"execution", TRADEBUS_EXE_TRADEBUS_EXECUTION},
#endif
#ifdef TRADEBUS_EXE_TRADEBUS_JOURNAL
        {"journal", TRADEBUS_EXE_TRADEBUS_JOURNAL},
#endif
    };
    auto it = exes.find(kind);
    REQUIRE_MESSAGE(it != exes.end(), "no executable built for node kind " << kind);
    return it->second;
}

pipeline::pipeline(zmq::context_t& ctx, const temp_dir& dir, std::int64_t interval_ms)
    : broker(ctx, dir,
             broker_settings{.pipeline_toml = pipeline_broker_toml(),
                             .interval_ms = interval_ms,
                             .recorder = true}),
      journal_dir(dir.file("journal")),
      dir_(dir),
      interval_ms_(interval_ms) {}

void pipeline::configure(const std::string& kind, const std::string& own) {
    std::string text = "[node]\nkind = \"" + kind + "\"\nname = \"" + kind +
                       "\"\ndepends_on = " + depends_on().at(kind) +
                       "\nheartbeat_interval_ms = " + std::to_string(interval_ms_) +
                       "\nlog_level = \"info\"\n[broker]\ncontrol_endpoint = \"" + broker.control +
                       "\"\nrequest_timeout_ms = 500\nretry_max_ms = 500\n" + own;
    const std::string table = "[journal]\n";
    const auto at = text.find(table);
    if (kind == "journal" && at != std::string::npos && own.find("source =") == std::string::npos) {
        text.insert(at + table.size(),
                    "source = \"recorder\"\nrecorder_endpoint = \"" + broker.recorder + "\"\n");
    }
    dir_.write(kind + ".toml", text);
}

void pipeline::start(const std::string& kind) {
    nodes_.erase(kind);
    nodes_[kind] = std::make_unique<process_guard>(
        node_executable(kind),
        std::vector<std::string>{"--config", dir_.file(kind + ".toml").string()},
        dir_.file(kind + ".log"));
}

int pipeline::stop(const std::string& kind) { return nodes_.at(kind)->stop(); }

schema::status_reply pipeline::wait_healthy(const std::vector<std::string>& kinds,
                                            std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    schema::status_reply last;
    while (std::chrono::steady_clock::now() < deadline) {
        last = broker.status();
        std::size_t healthy = 0;
        for (const auto& n : last.nodes) {
            const bool wanted = std::find(kinds.begin(), kinds.end(), n.name) != kinds.end();
            if (wanted && n.state == schema::health::healthy) ++healthy;
        }
        if (healthy == kinds.size()) return last;
        for (const auto& kind : kinds) {
            auto it = nodes_.find(kind);
            REQUIRE_MESSAGE((it == nodes_.end() || it->second->running()),
                            kind << " exited while the pipeline was starting");
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling interval only
    }
    std::string states;
    for (const auto& n : last.nodes) {
        states += n.name + "=" + std::string(schema::to_string(n.state)) + " ";
    }
    FAIL("pipeline not healthy within " << timeout.count() << " ms: " << states);
    return last;
}

}  // namespace tradebus::test
