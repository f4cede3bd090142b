#include "tradebus/common/proc_stats.hpp"

#include <unistd.h>

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

std::optional<double> read_cpu_seconds(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    if (!in || !std::getline(in, text)) return std::nullopt;
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    const auto close = text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream fields(text.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    // After the name: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime(15).
    for (int i = 3; i <= 13; ++i) fields >> field;
    fields >> utime >> stime;
    if (!fields) return std::nullopt;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    return static_cast<double>(utime + stime) / static_cast<double>(ticks > 0 ? ticks : 100);
}

}  // namespace tradebus::common
