#include "tradebus/common/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace tradebus::common {

namespace {

int decode_status(int raw) {
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

}  // namespace

child_process::child_process(std::string executable, std::vector<std::string> args,
                             std::filesystem::path log_path, std::vector<std::string> env)
    : executable_(std::move(executable)), log_path_(std::move(log_path)) {
    // Everything the child needs is prepared before fork(): between fork and exec only
    // async-signal-safe calls are allowed (the parent runs ZeroMQ threads).
    std::vector<std::string> argv_store{executable_};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string entry(*e);
        const auto key = entry.substr(0, entry.find('=') + 1);
        bool replaced = false;
        for (const auto& extra : env) replaced = replaced || extra.rfind(key, 0) == 0;
        if (!replaced) env_store.push_back(entry);
    }
    env_store.insert(env_store.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);

    const int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + log_path_.string());
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(fd);
        throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
    }
    if (pid_ == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a crashed parent
        if (::getppid() != parent) ::_exit(127);
        ::dup2(fd, STDOUT_FILENO);
        ::dup2(fd, STDERR_FILENO);
        const int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
        ::execve(argv[0], argv.data(), envp.data());
        static constexpr char msg[] = "child_process: execve failed\n";
        (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
        ::_exit(127);
    }
    ::close(fd);
}

child_process::~child_process() {
    if (pid_ > 0 && !status_) stop();
}

bool child_process::running() { return !wait_exit(std::chrono::milliseconds(0)).has_value(); }

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    if (status_) return status_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        int raw = 0;
        const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
        if (r == pid_) {
            status_ = decode_status(raw);
            return status_;
        }
        if (r < 0 && errno != EINTR) {
            status_ = -1;
            return status_;
        }
        if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));  // polling waitpid
    }
}

void child_process::signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

int child_process::stop(std::chrono::milliseconds grace) {
    if (status_) return *status_;
    signal(SIGTERM);
    if (auto s = wait_exit(grace)) return *s;
    std::cerr << "child_process: " << executable_ << " (pid " << pid_ << ") ignored SIGTERM for "
              << grace.count() << " ms; sending SIGKILL\n";
    signal(SIGKILL);
    return wait_exit(std::chrono::seconds(10)).value_or(-1);
}

std::string child_process::log() const {
    std::ifstream in(log_path_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

scratch_dir::scratch_dir(std::string_view prefix) {
    std::string base = "/tmp";
    if (const char* t = std::getenv("TMPDIR");
        t != nullptr && std::strlen(t) > 0 && std::strlen(t) < 40) {
        base = t;
    }
    std::string pattern = base + "/" + std::string(prefix) + "-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + base);
    path_ = buf.data();
}

scratch_dir::~scratch_dir() {
    if (keep_) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path scratch_dir::write(std::string_view name, std::string_view content) const {
    const auto p = file(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
    return p;
}

}  // namespace tradebus::common
