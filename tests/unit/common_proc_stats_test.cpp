// common/proc_stats: what a node reports of its own process in every heartbeat (CPU time,
// resident memory, open descriptors), read from /proc.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <vector>

#include "tradebus/common/proc_stats.hpp"

using namespace tradebus;

TEST_CASE("proc_stats: open descriptors are counted exactly, not the one that lists them") {
    const auto before = common::read_open_fds(::getpid());
    REQUIRE(before.has_value());
    CHECK(*before >= 3);  // at least stdin, stdout and stderr
    std::vector<int> fds;
    for (int i = 0; i < 5; ++i) {
        const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        fds.push_back(fd);
    }
    CHECK(common::read_open_fds(::getpid()) == *before + 5);
    CHECK(common::read_own_resources().open_fds == *before + 5);
    for (const int fd : fds) ::close(fd);
    CHECK(common::read_open_fds(::getpid()) == *before);
}

TEST_CASE("proc_stats: the own process's memory and CPU time, and nothing for a process gone") {
    // Burn a little CPU so the tick count moves (10 ms per tick at the usual 100 Hz).
    const auto start = std::chrono::steady_clock::now();
    volatile std::uint64_t x = 0;
    while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(50)) x = x + 1;
    const common::process_resources r = common::read_own_resources();
    const auto mem = common::read_memory(::getpid());
    REQUIRE(mem.has_value());
    CHECK(r.rss_bytes > 0);
    CHECK(r.rss_bytes % 1024 == 0);  // VmRSS is in KiB
    CHECK(r.cpu_ms >= 10);
    const auto seconds = common::read_cpu_seconds(::getpid());
    REQUIRE(seconds.has_value());
    CHECK(static_cast<double>(r.cpu_ms) <= *seconds * 1000.0 + 0.5);

    // A pid that is not running: every reader says so (pid_max is at most 2^22).
    const pid_t none = (1 << 22) + 1;
    CHECK_FALSE(common::read_memory(none).has_value());
    CHECK_FALSE(common::read_cpu_ticks(none).has_value());
    CHECK_FALSE(common::read_open_fds(none).has_value());
}
