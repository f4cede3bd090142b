#include "tradebus/common/process.hpp"

#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>

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
}  // namespace

std::string_view version() noexcept { return TRADEBUS_VERSION "+" TRADEBUS_GIT_SHA; }

bool init_logging(std::string_view instance, std::string_view level) {
    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    auto logger = std::make_shared<spdlog::logger>(std::string(instance), sink);
    const bool journald = std::getenv("JOURNAL_STREAM") != nullptr;
    logger->set_pattern(journald ? "[%n] [%l] %v" : "%Y-%m-%d %H:%M:%S.%e [%n] [%^%l%$] %v");
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
