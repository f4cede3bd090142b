#include "node_process.hpp"

#include <doctest/doctest.h>

#include <thread>

#include "pipeline.hpp"
#include "tradebus/common/proc_stats.hpp"
#include "tradebus/journal/format.hpp"
#include "tradebus/journal/reader.hpp"
#include "tradebus/schema/codec.hpp"

namespace tradebus::test {

std::unique_ptr<process_guard> start_node(const broker_process& broker, const temp_dir& dir,
                                          const std::string& kind, const std::string& name,
                                          const std::string& own, std::int64_t interval_ms) {
    const std::string toml =
        "[node]\nkind = \"" + kind + "\"\nname = \"" + name +
        "\"\ndepends_on = []\nheartbeat_interval_ms = " + std::to_string(interval_ms) +
        "\n[broker]\ncontrol_endpoint = \"" + broker.control +
        "\"\nrequest_timeout_ms = 500\nretry_max_ms = 500\n" + own;
    const auto path = dir.write(name + ".toml", toml);
    return std::make_unique<process_guard>(node_executable(kind),
                                           std::vector<std::string>{"--config", path.string()},
                                           dir.file(name + ".log"));
}

std::string journal_table(const broker_process& broker, const std::filesystem::path& journal_dir,
                          const std::string& extra) {
    std::string t = "[journal]\ndir = \"" + journal_dir.string() + "\"\nfsync = \"none\"\n";
    if (!broker.recorder.empty()) {
        t += "source = \"recorder\"\nrecorder_endpoint = \"" + broker.recorder + "\"\n";
    }
    return t + extra;
}

broker_settings recording_broker(std::int64_t hwm) {
    return broker_settings{.pipeline_toml = "[pipeline.journal]\ndepends_on = []\n",
                           .sndhwm = hwm,
                           .rcvhwm = hwm,
                           .recorder = true};
}

std::unique_ptr<process_guard> start_journal(broker_process& broker, const temp_dir& dir,
                                             const std::filesystem::path& journal_dir,
                                             const std::string& extra) {
    auto journal =
        start_node(broker, dir, "journal", "journal", journal_table(broker, journal_dir, extra));
    (void)wait_node_state(broker, "journal", schema::health::healthy, std::chrono::seconds(15));
    return journal;
}

void wait_publisher_through(zmq::context_t& ctx, const broker_process& broker, publisher& pub,
                            std::string_view probe_topic) {
    subscriber probe_sub(ctx, broker.xpub, {std::string(probe_topic)});
    (void)wait_until_flowing(pub, probe_sub, probe_topic);
}

schema::node_status wait_node_state(broker_process& broker, const std::string& name,
                                    schema::health state, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string last = "not registered";
    while (std::chrono::steady_clock::now() < deadline) {
        for (const auto& n : broker.status().nodes) {
            if (n.name != name) continue;
            if (n.state == state) return n;
            last = std::string(schema::to_string(n.state));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling interval only
    }
    FAIL(name << " not " << schema::to_string(state) << " within " << timeout.count()
              << " ms (last: " << last << ")");
    return {};
}

std::uint64_t peak_rss_bytes(int pid) {
    const auto memory = common::read_memory(pid);
    REQUIRE_MESSAGE(memory.has_value(), "no VmRSS/VmHWM in /proc/" << pid << "/status");
    return memory->hwm_kib * 1024;
}

journal_contents read_journal(const std::filesystem::path& dir) {
    journal_contents out;
    if (!std::filesystem::exists(dir)) return out;
    journal::reader reader(dir.string());
    while (const auto* item = reader.next()) {
        if (item->what == journal::read_item::status::corrupt) {
            out.damage.push_back(
                {std::string(item->segment), item->offset, std::string(item->reason)});
            continue;
        }
        out.records.push_back({item->rec.index, item->rec.flags, std::string(item->rec.topic),
                               std::string(item->rec.body)});
    }
    return out;
}

void wait_journaled(const std::filesystem::path& dir, std::string_view topic, std::uint64_t seq,
                    process_guard& journal) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        REQUIRE(journal.running());
        for (const auto& r : read_journal(dir).records) {
            if (r.topic != topic || (r.flags & journal::format::flags::gap_marker) != 0) continue;
            const auto ev = schema::decode_event(r.body);
            if (ev && ev.value().env.seq >= seq) return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // polling files only
    }
    FAIL("seq " << seq << " on " << topic << " not journaled within 30 s");
}

}  // namespace tradebus::test
