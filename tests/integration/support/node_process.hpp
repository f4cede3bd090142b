// A single node executable against a test's broker_process (without the whole pipeline): its
// TOML written into the test's temp dir, started under a process_guard; plus waiting for a
// node's state in the broker's status, reading a process's peak memory, and reading back
// everything a journal directory holds.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "broker_process.hpp"
#include "bus_clients.hpp"
#include "process_guard.hpp"
#include "temp_dir.hpp"
#include "tradebus/schema/control.hpp"

namespace tradebus::test {

/// Writes <name>.toml for a node of `kind` talking to `broker` (heartbeat `interval_ms`, no
/// dependencies), followed by `own` (its own tables, verbatim), and starts it. `own` follows
/// the [broker] table directly, so keys before its first table header (`rcvhwm = 100`) are
/// [broker] keys.
std::unique_ptr<process_guard> start_node(const broker_process& broker, const temp_dir& dir,
                                          const std::string& kind, const std::string& name,
                                          const std::string& own, std::int64_t interval_ms = 100);

/// The [journal] table of a journal writing to `journal_dir`; reading the broker's recorder
/// endpoint when `broker.recorder` is set, else the bus. `extra` is appended to the table.
[[nodiscard]] std::string journal_table(const broker_process& broker,
                                        const std::filesystem::path& journal_dir,
                                        const std::string& extra = "");

/// A broker for a lone journal: its [pipeline] lists "journal", the recorder endpoint is
/// bound, and `hwm` > 0 sets its XSUB and XPUB (and so recorder) queues.
[[nodiscard]] broker_settings recording_broker(std::int64_t hwm = 0);

/// Starts a journal node named "journal" (journal_table(broker, journal_dir, extra)) and waits
/// until the broker reports it healthy.
std::unique_ptr<process_guard> start_journal(broker_process& broker, const temp_dir& dir,
                                             const std::filesystem::path& journal_dir,
                                             const std::string& extra = "");

/// Polls status until node `name` is in `state`; fails the test after `timeout`.
schema::node_status wait_node_state(broker_process& broker, const std::string& name,
                                    schema::health state, std::chrono::milliseconds timeout);

/// The slow-joiner wait for a publisher alone: a probe subscriber on `probe_topic` (closed
/// again after) proves `pub` reaches the broker's subscribers.
void wait_publisher_through(zmq::context_t& ctx, const broker_process& broker, publisher& pub,
                            std::string_view probe_topic);

/// Peak resident set size (VmHWM from /proc/<pid>/status) in bytes; fails the test when the
/// process is gone or the line is missing.
[[nodiscard]] std::uint64_t peak_rss_bytes(int pid);

/// One journal record, copied out of the reader.
struct journaled {
    std::uint64_t index = 0;
    std::uint16_t flags = 0;
    std::string topic, body;
};

/// One damage report of the reader.
struct journal_damage {
    std::string segment;
    std::uint64_t offset = 0;
    std::string reason;
};

struct journal_contents {
    std::vector<journaled> records;
    std::vector<journal_damage> damage;
};

/// Everything in `dir`, in index order (an empty result when the directory does not exist yet).
[[nodiscard]] journal_contents read_journal(const std::filesystem::path& dir);

/// Polls the journal files in `dir` until `topic` has an event with sequence number `seq` or
/// more; fails the test when `journal` exits or after 30 s (a hang guard).
void wait_journaled(const std::filesystem::path& dir, std::string_view topic, std::uint64_t seq,
                    process_guard& journal);

}  // namespace tradebus::test
