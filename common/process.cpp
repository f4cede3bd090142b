#include "tradebus/common/process.hpp"

#include <spdlog/cfg/env.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <random>

#ifndef TRADEBUS_GIT_SHA
#define TRADEBUS_GIT_SHA "unknown"
#endif
#ifndef TRADEBUS_VERSION
#define TRADEBUS_VERSION "0.0.0"
#endif

namespace tradebus::common {

namespace {
std::atomic<bool> g_stop{false};
extern "C" void on_stop_signal(int) { g_stop.store(true, std::memory_order_relaxed); }
std::atomic<bool> g_reload{false};
extern "C" void on_reload_signal(int) { g_reload.store(true, std::memory_order_relaxed); }

// The sd-daemon(3) prefix journald reads a line's priority from (syslog levels).
std::string_view journald_prefix(spdlog::level::level_enum level) noexcept {
    switch (level) {
        case spdlog::level::critical:
            return "<2>";
        case spdlog::level::err:
            return "<3>";
        case spdlog::level::warn:
            return "<4>";
        case spdlog::level::info:
            return "<6>";
        case spdlog::level::debug:
        case spdlog::level::trace:
            return "<7>";
        case spdlog::level::off:
        case spdlog::level::n_levels:
            break;
    }
    return "<6>";
}

// `%*`: the sd-daemon(3) priority prefix of a line ("<4>" for a warning), which journald strips
// and stores as the line's PRIORITY (syslog levels: 2 crit, 3 err, 4 warning, 6 info, 7 debug).
class journald_priority final : public spdlog::custom_flag_formatter {
  public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override {
        const std::string_view p = journald_prefix(msg.level);
        dest.append(p.data(), p.data() + p.size());
    }
    [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
        return std::make_unique<journald_priority>();
    }
};

// True when stderr is the stream systemd connected to the journal: JOURNAL_STREAM names its
// device and inode ("dev:ino"). A child whose stderr was redirected elsewhere inherits the
// variable but not the stream, so both must match (systemd.exec(5)).
bool stderr_is_journal() {
    const char* js = std::getenv("JOURNAL_STREAM");
    if (js == nullptr) return false;
    unsigned long long dev = 0;
    unsigned long long ino = 0;
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) != 2) return false;
    struct stat st {};
    if (::fstat(STDERR_FILENO, &st) != 0) return false;
    return static_cast<unsigned long long>(st.st_dev) == dev &&
           static_cast<unsigned long long>(st.st_ino) == ino;
}
}  // namespace

std::string_view version() noexcept { return TRADEBUS_VERSION "+" TRADEBUS_GIT_SHA; }

bool init_logging(std::string_view instance, std::string_view level) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(instance), sink);
    if (stderr_is_journal()) {
        // journald adds the time; the prefix gives each line its priority, so
        // `journalctl -p warning` shows warnings and errors.
        auto formatter = std::make_unique<spdlog::pattern_formatter>();
        formatter->add_flag<journald_priority>('*').set_pattern("%*[%n] [%l] %v");
        logger->set_formatter(std::move(formatter));
    } else {
        logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [%n] [%^%l%$] %v");
    }
    const auto lvl = spdlog::level::from_str(std::string(level));
    const bool known = lvl != spdlog::level::off || level == "off";
    logger->set_level(known ? lvl : spdlog::level::info);
    logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(logger);
    spdlog::cfg::load_env_levels();  // SPDLOG_LEVEL overrides the config
    return known;
}

void install_stop_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
}

void install_reload_signal() {
    struct sigaction sa {};
    sa.sa_handler = on_reload_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, nullptr);
}

bool take_reload_request() noexcept { return g_reload.exchange(false, std::memory_order_relaxed); }

bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }
void request_stop() noexcept { g_stop.store(true, std::memory_order_relaxed); }

void notify_ready(std::string_view status) {
    const std::string msg = "READY=1\nSTATUS=" + std::string(status);
    sd_notify(0, msg.c_str());
}

void notify_status(std::string_view status) {
    const std::string msg = "STATUS=" + std::string(status);
    sd_notify(0, msg.c_str());
}

void notify_stopping() { sd_notify(0, "STOPPING=1"); }

std::chrono::milliseconds watchdog_interval() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::milliseconds(0);
    return std::chrono::milliseconds(static_cast<std::int64_t>(usec / 1000));
}

void notify_watchdog() { sd_notify(0, "WATCHDOG=1"); }

std::uint64_t random_id() {
    std::random_device rd;
    std::uint64_t x =
        (static_cast<std::uint64_t>(rd()) << 32) ^ rd() ^ static_cast<std::uint64_t>(now_ns());
    // splitmix64's finalizer: the clock's low-entropy bits spread over the whole word.
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x == 0 ? 1 : x;
}

std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::int64_t mono_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::uint64_t rate_limited::hit() noexcept {
    ++pending_;
    const std::int64_t now = mono_ms();
    if (now - last_ms_ < period_ms_) return 0;
    last_ms_ = now;
    const std::uint64_t n = pending_;
    pending_ = 0;
    return n;
}

}  // namespace tradebus::common
