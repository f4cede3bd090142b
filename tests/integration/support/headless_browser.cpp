#include "headless_browser.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace tradebus::test {

namespace {

// A JSON string literal for `s` (the test's own URLs and scripts: ASCII).
std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out + "\"";
}

// The string value of `"<key>":"..."` in `json` (the first one), unescaped; "" when absent.
std::string string_field(std::string_view json, std::string_view key) {
    const std::string needle = "\"" + std::string(key) + "\":\"";
    const std::size_t at = json.find(needle);
    if (at == std::string_view::npos) return {};
    std::string out;
    for (std::size_t i = at + needle.size(); i < json.size() && json[i] != '"'; ++i) {
        if (json[i] != '\\' || i + 1 >= json.size()) {
            out += json[i];
            continue;
        }
        const char e = json[++i];
        switch (e) {
            case 'n':
                out += '\n';
                break;
            case 't':
                out += '\t';
                break;
            case 'u':
                if (i + 4 < json.size()) {
                    const auto cp = std::stoul(std::string(json.substr(i + 1, 4)), nullptr, 16);
                    if (cp < 0x80) {
                        out += static_cast<char>(cp);
                    } else if (cp < 0x800) {
                        out += static_cast<char>(0xC0 | (cp >> 6));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    } else {
                        out += static_cast<char>(0xE0 | (cp >> 12));
                        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
                        out += static_cast<char>(0x80 | (cp & 0x3F));
                    }
                    i += 4;
                }
                break;
            default:
                out += e;  // " \ /
        }
    }
    return out;
}

std::string base64_decode(std::string_view in) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    unsigned buf = 0;
    int bits = 0;
    for (const char c : in) {
        const int v = value(c);
        if (v < 0) continue;  // '=' padding
        buf = (buf << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buf >> bits) & 0xFF);
        }
    }
    return out;
}

}  // namespace

headless_browser::headless_browser(const temp_dir& dir) : log_path_(dir.file("chromium.log")) {
    // One browser at a time on this machine: ctest runs test cases in parallel processes, and
    // two Chromiums next to sanitizer-built nodes make a page's timing (a halt shown within a
    // second) a measure of the machine. The lock goes with the process (or the destructor).
    lock_fd_ = ::open("/tmp/tradebus-headless-browser.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    REQUIRE_MESSAGE(lock_fd_ >= 0, "cannot open the browser lock: " << std::strerror(errno));
    while (::flock(lock_fd_, LOCK_EX) != 0) {
        REQUIRE_MESSAGE(errno == EINTR, "cannot take the browser lock: " << std::strerror(errno));
    }
    int to[2], from[2];
    REQUIRE(::pipe2(to, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(from, O_CLOEXEC) == 0);
    const std::string profile = "--user-data-dir=" + dir.file("chromium-profile").string();
    std::vector<std::string> args = {"chromium",
                                     "--headless=new",
                                     "--no-sandbox",  // tests may run as root
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--disable-extensions",
                                     "--disable-background-networking",
                                     "--disable-component-update",
                                     "--disable-sync",
                                     "--remote-debugging-pipe",
                                     profile,
                                     "about:blank"};
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
        ::setsid();  // its own process group: the destructor ends every helper process
        const int log = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            ::dup2(log, 1);
            ::dup2(log, 2);
        }
        // Chromium reads fd 3 and writes fd 4. The pipe ends may already be 3..6 (a test with
        // nothing else open): dup2 onto the same number would keep close-on-exec, and one end
        // could be overwritten before it is copied. So: copies above 10 first (without
        // close-on-exec), then onto 3 and 4.
        const int in = ::fcntl(to[0], F_DUPFD, 10);
        const int out = ::fcntl(from[1], F_DUPFD, 10);
        ::dup2(in, 3);
        ::dup2(out, 4);
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execvp("chromium", argv.data());
        ::_exit(127);
    }
    ::close(to[0]);
    ::close(from[1]);
    to_browser_ = to[1];
    from_browser_ = from[0];
}

headless_browser::~headless_browser() {
    if (pid_ > 0) {
        const pid_t group = pid_;  // setsid() in the child: its group id is its pid
        ::kill(-group, SIGTERM);
        bool reaped = false;
        for (int i = 0; i < 50 && !reaped; ++i) {
            reaped = ::waitpid(group, nullptr, WNOHANG) == group;
            if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        ::kill(-group, SIGKILL);  // helpers left in the group, and the browser if it hung
        if (!reaped) ::waitpid(group, nullptr, 0);
    }
    if (to_browser_ >= 0) ::close(to_browser_);
    if (from_browser_ >= 0) ::close(from_browser_);
    if (lock_fd_ >= 0) ::close(lock_fd_);  // lets the next test's browser start
}

std::string headless_browser::log() const {
    std::ifstream in(log_path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string headless_browser::read_message(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        if (const std::size_t nul = pending_.find('\0'); nul != std::string::npos) {
            std::string msg = pending_.substr(0, nul);
            pending_.erase(0, nul + 1);
            return msg;
        }
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        REQUIRE_MESSAGE(left.count() > 0, "chromium did not answer " << waiting_for_
                                                                     << " in time; its log:\n"
                                                                     << log());
        pollfd p{from_browser_, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char buf[65536];
        const ssize_t got = ::read(from_browser_, buf, sizeof buf);
        REQUIRE_MESSAGE(got > 0, "chromium closed its DevTools pipe; its log:\n" << log());
        pending_.append(buf, static_cast<std::size_t>(got));
    }
}

std::string headless_browser::call(std::string_view method, const std::string& params,
                                   std::chrono::milliseconds timeout) {
    const int id = ++next_id_;
    std::string msg = "{\"id\":" + std::to_string(id) + ",\"method\":\"" + std::string(method) +
                      "\",\"params\":" + params;
    if (!session_.empty()) msg += ",\"sessionId\":\"" + session_ + "\"";
    msg += "}";
    msg += '\0';
    for (std::size_t sent = 0; sent < msg.size();) {
        const ssize_t n = ::write(to_browser_, msg.data() + sent, msg.size() - sent);
        REQUIRE_MESSAGE(n > 0,
                        "cannot write to chromium's DevTools pipe: " << std::strerror(errno));
        sent += static_cast<std::size_t>(n);
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    waiting_for_ = std::string(method) + " " + params.substr(0, 200);
    const std::string tag = "{\"id\":" + std::to_string(id) + ",";
    for (;;) {
        std::string reply = read_message(deadline);
        if (!reply.starts_with(tag)) continue;  // events and other answers
        REQUIRE_MESSAGE(reply.find("\"error\":") == std::string::npos,
                        method << " failed: " << reply);
        return reply;
    }
}

void headless_browser::await_event(std::string_view method, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    waiting_for_ = "the event " + std::string(method);
    const std::string tag = "\"method\":\"" + std::string(method) + "\"";
    while (read_message(deadline).find(tag) == std::string::npos) {
    }
}

void headless_browser::open(const std::string& url) {
    if (session_.empty()) {
        const std::string target =
            // The first answer waits for Chromium's start-up: slow on a loaded 2-core machine
            // (seen past 15 s while sanitizer builds ran); a bound on a hang, not a timing.
            string_field(
                call("Target.createTarget", "{\"url\":\"about:blank\"}", std::chrono::seconds(90)),
                "targetId");
        REQUIRE(!target.empty());
        session_ = string_field(
            call("Target.attachToTarget", "{\"targetId\":\"" + target + "\",\"flatten\":true}"),
            "sessionId");
        REQUIRE(!session_.empty());
        (void)call("Page.enable", "{}");
    }
    (void)call("Page.navigate", "{\"url\":" + json_string(url) + "}");
    await_event("Page.loadEventFired", std::chrono::seconds(45));
}

std::string headless_browser::eval(const std::string& js) {
    const std::string reply =
        call("Runtime.evaluate",
             "{\"expression\":" + json_string("String(" + js + ")") + ",\"returnByValue\":true}");
    REQUIRE_MESSAGE(reply.find("\"exceptionDetails\"") == std::string::npos,
                    "the page threw on " << js << ": " << reply);
    return string_field(reply, "value");
}

bool headless_browser::wait_for(const std::string& js, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        if (eval(js) == "true") return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return eval(js) == "true";
}

void headless_browser::screenshot(const std::filesystem::path& path, int width, int height) {
    (void)call("Emulation.setDeviceMetricsOverride",
               "{\"width\":" + std::to_string(width) + ",\"height\":" + std::to_string(height) +
                   ",\"deviceScaleFactor\":1,\"mobile\":false}");
    const std::string png =
        base64_decode(string_field(call("Page.captureScreenshot", "{\"format\":\"png\"}"), "data"));
    REQUIRE(png.size() > 8);
    std::ofstream out(path, std::ios::binary);
    out.write(png.data(), static_cast<std::streamsize>(png.size()));
    REQUIRE(out.good());
}

}  // namespace tradebus::test
