#include "tradebus/common/proc_stats.hpp"

#include <dirent.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace tradebus::common {

std::optional<memory_sample> read_memory(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    if (!in) return std::nullopt;
    memory_sample m;
    bool rss = false, hwm = false;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string key;
        std::uint64_t kib = 0;
        fields >> key >> kib;
        if (key == "VmRSS:") m.rss_kib = kib, rss = true;
        if (key == "VmHWM:") m.hwm_kib = kib, hwm = true;
    }
    if (!rss || !hwm) return std::nullopt;
    return m;
}

std::optional<cpu_ticks> read_cpu_ticks(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos || close + 2 > text.size()) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // After the name: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime(15).
    for (int i = 3; i <= 13; ++i) fields >> field;
    fields >> utime >> stime;
    if (!fields) return std::nullopt;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    return cpu_ticks{.ticks = utime + stime,
                     .per_second = ticks > 0 ? static_cast<std::uint64_t>(ticks) : 100};
}

std::optional<double> read_cpu_seconds(pid_t pid) {
    const auto t = read_cpu_ticks(pid);
    if (!t) return std::nullopt;
    return static_cast<double>(t->ticks) / static_cast<double>(t->per_second);
}

std::optional<std::uint64_t> read_open_fds(pid_t pid) {
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (dir == nullptr) return std::nullopt;
    const bool self = pid == ::getpid();
    const int own = ::dirfd(dir);
    std::uint64_t n = 0;
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') continue;  // "." and ".."
        if (self) {
            int fd = -1;
            const char* end = e->d_name + std::strlen(e->d_name);
            const auto [at, ec] = std::from_chars(e->d_name, end, fd);
            if (ec == std::errc{} && at == end && fd == own) continue;  // the listing's own
        }
        ++n;
    }
    ::closedir(dir);
    return n;
}

process_resources read_own_resources() {
    const pid_t self = ::getpid();
    process_resources r;
    if (const auto t = read_cpu_ticks(self)) r.cpu_ms = t->ticks * 1000 / t->per_second;
    if (const auto m = read_memory(self)) r.rss_bytes = m->rss_kib * 1024;
    if (const auto fds = read_open_fds(self)) r.open_fds = *fds;
    return r;
}

}  // namespace tradebus::common
