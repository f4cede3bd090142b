#include "process_guard.hpp"

#include <iostream>
#include <thread>

#include "test_status.hpp"

namespace tradebus::test {

process_guard::~process_guard() {
    (void)stop();  // before the log is read: everything the child wrote is in it
    if (current_test_failed()) dump_log();
}

void process_guard::dump_log() const {
    std::cerr << "\n----- log of " << executable() << " (pid " << pid() << ", "
              << log_path().string() << ") -----\n"
              << log() << "----- end of log -----\n";
}

bool log_shows(const process_guard& proc, std::string_view text, std::chrono::milliseconds guard) {
    const auto deadline = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < deadline) {
        if (proc.log().find(text) != std::string::npos) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // polling a file only
    }
    return false;
}

run_result run_to_exit(const std::string& executable, const std::vector<std::string>& args,
                       const std::filesystem::path& log_path, std::chrono::milliseconds timeout) {
    process_guard p(executable, args, log_path);
    run_result r;
    if (auto s = p.wait_exit(timeout)) {
        r.status = *s;
    } else {
        r.status = p.stop(std::chrono::seconds(1));
    }
    r.output = p.log();
    return r;
}

}  // namespace tradebus::test
