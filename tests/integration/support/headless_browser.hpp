// A real browser for the web page's tests: headless Chromium (Debian's `chromium`, in
// scripts/install-deps.sh) driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
// requests on fd 3, answers on fd 4, each a JSON text ended by a NUL byte), so one page stays
// open and the test reads its live DOM as the event stream changes it. Loopback and local-file
// pages only; --no-sandbox because tests may run as root (never outside tests). One browser runs
// at a time on the machine (a lock file in /tmp): parallel test cases wait their turn.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>

#include "temp_dir.hpp"

namespace tradebus::test {

class headless_browser {
  public:
    /// Starts Chromium with its profile and log in `dir`; fails the test when it cannot.
    explicit headless_browser(const temp_dir& dir);
    ~headless_browser();
    headless_browser(const headless_browser&) = delete;
    headless_browser& operator=(const headless_browser&) = delete;

    /// Opens `url` in a new tab (the first call) or navigates the tab there; returns once the
    /// page's load event fired.
    void open(const std::string& url);
    /// Evaluates `js` in the page and returns its value as a string (String(value)).
    std::string eval(const std::string& js);
    /// Polls `js` until it evaluates to "true"; false after `timeout`.
    bool wait_for(const std::string& js, std::chrono::milliseconds timeout);
    /// Writes a PNG of the page (viewport `width` x `height`) to `path`.
    void screenshot(const std::filesystem::path& path, int width, int height);
    /// Chromium's own log (for failure messages).
    [[nodiscard]] std::string log() const;

  private:
    /// Sends one command (`method`, `params` as JSON text) and returns the result object's text.
    std::string call(std::string_view method, const std::string& params,
                     std::chrono::milliseconds timeout = std::chrono::seconds(15));
    /// Waits for the event `method` on the page's session.
    void await_event(std::string_view method, std::chrono::milliseconds timeout);
    std::string read_message(std::chrono::steady_clock::time_point deadline);

    std::filesystem::path log_path_;
    pid_t pid_ = -1;
    int to_browser_ = -1, from_browser_ = -1;
    std::string pending_;      // bytes read after the last message's NUL
    std::string waiting_for_;  // what the current wait is for (failure messages)
    int lock_fd_ = -1;         // holds the machine's one-browser-at-a-time lock
    std::string session_;      // the page's DevTools session id
    int next_id_ = 0;
};

}  // namespace tradebus::test
