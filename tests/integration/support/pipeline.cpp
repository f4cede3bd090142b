#include "pipeline.hpp"

#include <doctest/doctest.h>
#include <toml++/toml.h>

#include <string_view>
#include <thread>

#include "tradebus/common/curve.hpp"

namespace tradebus::test {

namespace {
// A kind's depends_on in the default pipeline, as TOML: the shipped config/nodes/<kind>.toml
// owns it (a node waits for the consumers of what it publishes, so nothing is published before
// its consumers listen). Any built-in kind: the pipeline_kinds and those a test adds (web).
const std::string& depends_on(const std::string& kind) {
    static std::map<std::string, std::string> deps;
    if (auto it = deps.find(kind); it != deps.end()) return it->second;
    const std::string file = TRADEBUS_SOURCE_DIR "/config/nodes/" + kind + ".toml";
    const auto doc = toml::parse_file(file);
    const auto* names = doc["node"]["depends_on"].as_array();
    REQUIRE_MESSAGE(names != nullptr, file << ": no [node] depends_on array");
    std::string toml = "[";
    for (const auto& name : *names) {
        REQUIRE_MESSAGE(name.is_string(), file << ": depends_on holds a non-string");
        toml +=
            std::string(toml.size() > 1 ? ", " : "") + "\"" + name.value_or(std::string{}) + "\"";
    }
    return deps[kind] = toml + "]";
}

// Each kind's topic ACL in a secured pipeline (what it publishes, README "Security").
const std::map<std::string, std::string>& publishes() {
    static const std::map<std::string, std::string> acl = {
        {"journal", "[]"},        {"marketdata", R"(["md."])"},     {"execution", R"(["exec."])"},
        {"risk", R"(["risk."])"}, {"strategy", R"(["strategy."])"},
    };
    return acl;
}

std::string keys_dir(const temp_dir& dir) { return dir.file("keys").string(); }

// Secured: writes a key pair for the broker, each kind and the observer into dir/keys and
// returns the observer's client keys; otherwise nothing.
common::curve_client make_keys(const temp_dir& dir, bool secured) {
    if (!secured) return {};
    std::map<std::string, common::curve_key_pair> pairs;
    std::vector<std::string> names = pipeline_kinds;
    names.insert(names.end(), {"broker", "observer"});
    for (const auto& name : names) {
        pairs[name] = common::generate_key_pair();
        (void)common::write_key_files(keys_dir(dir), name, pairs[name], false);
    }
    return {pairs["broker"].public_key, pairs["observer"].public_key, pairs["observer"].secret_key};
}

std::filesystem::path state_file(const temp_dir& dir) { return dir.file("broker-trading.toml"); }

broker_settings settings_for(const temp_dir& dir, std::int64_t interval_ms,
                             const common::curve_client& observer, const std::string& extra) {
    broker_settings s{.pipeline_toml = pipeline_broker_toml(),
                      .interval_ms = interval_ms,
                      .recorder = true,
                      .trading_state_file = state_file(dir).string(),
                      .extra_toml = extra};
    if (!observer.enabled()) return s;
    const std::string keys = keys_dir(dir);
    s.extra_toml += "[security]\ncurve = true\nsecret_key_file = \"" + keys + "/broker.key\"\n";
    for (const auto& [kind, acl] : publishes()) {
        s.extra_toml += "[[security.client]]\nname = \"" + kind + "\"\npublic_key_file = \"" +
                        keys + "/" + kind + ".pub\"\npublish = " + acl + "\n";
    }
    s.extra_toml += "[[security.client]]\nname = \"observer\"\npublic_key_file = \"" + keys +
                    "/observer.pub\"\noperator = true\n";
    s.keys = observer;
    return s;
}

}  // namespace

std::string pipeline_broker_toml() {
    std::string out;
    for (const auto& kind : pipeline_kinds) {
        out += "[pipeline." + kind + "]\ndepends_on = " + depends_on(kind) + "\n";
    }
    return out;
}

std::string node_executable(const std::string& kind) {
    // "<kind>=<path>,...": every built-in kind's executable (tests/integration/CMakeLists.txt).
    static const std::map<std::string, std::string> exes = [] {
        std::map<std::string, std::string> out;
        const std::string_view all = TRADEBUS_NODE_EXECUTABLES;
        std::size_t at = 0;
        while (at < all.size()) {
            auto end = all.find(',', at);
            if (end == std::string_view::npos) end = all.size();
            const auto entry = all.substr(at, end - at);
            const auto eq = entry.find('=');
            if (eq != std::string_view::npos) {
                out.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
            }
            at = end + 1;
        }
        return out;
    }();
    auto it = exes.find(kind);
    REQUIRE_MESSAGE(it != exes.end(), "no executable built for node kind " << kind);
    return it->second;
}

pipeline::pipeline(zmq::context_t& ctx, const temp_dir& dir, std::int64_t interval_ms, bool secured,
                   const std::string& broker_toml)
    : observer(make_keys(dir, secured)),
      broker(ctx, dir, settings_for(dir, interval_ms, observer, broker_toml)),
      journal_dir(dir.file("journal")),
      dir_(dir),
      interval_ms_(interval_ms) {}

std::filesystem::path pipeline::broker_state_file() const { return state_file(dir_); }

void pipeline::configure(const std::string& kind, const std::string& own) {
    std::string text = "[node]\nkind = \"" + kind + "\"\nname = \"" + kind +
                       "\"\ndepends_on = " + depends_on(kind) +
                       "\nheartbeat_interval_ms = " + std::to_string(interval_ms_) +
                       "\nlog_level = \"info\"\n[broker]\ncontrol_endpoint = \"" + broker.control +
                       "\"\nrequest_timeout_ms = 500\nretry_max_ms = 500\n";
    if (observer.enabled()) {
        text += "[security]\nbroker_public_key_file = \"" + keys_dir(dir_) +
                "/broker.pub\"\nkey_file = \"" + keys_dir(dir_) + "/" + kind + ".key\"\n";
    }
    text += own;
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
