// Logging under systemd: when stderr is the journal stream (JOURNAL_STREAM names its device and
// inode, as systemd sets it), every line a node writes starts with its sd-daemon(3) priority,
// so `journalctl -p warning` shows warnings and errors. A real node, its stderr a file whose
// device and inode the test passes as JOURNAL_STREAM, exactly as systemd would.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <sstream>

#include "pipeline.hpp"
#include "process_guard.hpp"
#include "temp_dir.hpp"

using namespace tradebus::test;

namespace {

// A journal node whose broker never answers: it warns "did not answer register" and retries.
std::string unanswered_node_config(const temp_dir& dir) {
    return dir
        .write("journal.toml",
               "[node]\nkind = \"journal\"\nname = \"journal\"\ndepends_on = []\n"
               "[broker]\ncontrol_endpoint = \"ipc://" +
                   dir.file("nobroker").string() +
                   "\"\nrequest_timeout_ms = 200\nretry_max_ms = 200\n[journal]\ndir = \"" +
                   dir.file("j").string() + "\"\n")
        .string();
}

// The "dev:ino" systemd would put in JOURNAL_STREAM for a stderr that is `path`.
std::string stream_id(const std::filesystem::path& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// The first line of `log` that contains `text`.
std::string line_with(const std::string& log, std::string_view text) {
    std::istringstream in(log);
    for (std::string line; std::getline(in, line);) {
        if (line.find(text) != std::string::npos) return line;
    }
    return {};
}

}  // namespace

TEST_CASE("logging: on systemd's journal stream a warning carries priority 4, info 6") {
    temp_dir dir;
    const auto config = unanswered_node_config(dir);
    const auto log = dir.file("journal.log");
    dir.write("journal.log", "");  // the file exists first, so its inode is known
    process_guard node(node_executable("journal"), {"--config", config}, log,
                       {"JOURNAL_STREAM=" + stream_id(log)});
    REQUIRE(log_shows(node, "did not answer register"));
    const auto warning = line_with(node.log(), "did not answer register");
    CHECK(warning.rfind("<4>[journal] [warning] ", 0) == 0);
    // Lifecycle lines are info; nothing is left without a priority.
    const auto banner = line_with(node.log(), "starting");
    CHECK(banner.rfind("<6>[journal] [info] ", 0) == 0);
}

TEST_CASE("logging: JOURNAL_STREAM inherited by a process whose stderr is elsewhere is ignored") {
    temp_dir dir;
    const auto config = unanswered_node_config(dir);
    const auto other = dir.write("other.log", "");
    process_guard node(node_executable("journal"), {"--config", config}, dir.file("journal.log"),
                       {"JOURNAL_STREAM=" + stream_id(other)});
    REQUIRE(log_shows(node, "did not answer register"));
    const auto warning = line_with(node.log(), "did not answer register");
    CHECK(warning.find("[journal] [warning] ") != std::string::npos);
    CHECK(warning.rfind("<", 0) != 0);  // a timestamped line, no priority prefix
}
