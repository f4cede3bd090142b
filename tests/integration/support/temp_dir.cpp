#include "temp_dir.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_status.hpp"

namespace tradebus::test {

temp_dir::temp_dir() {
    // ipc:// paths must fit in sockaddr_un (108 bytes): fall back to /tmp for a long TMPDIR.
    std::string base = "/tmp";
    if (const char* t = std::getenv("TMPDIR"); t != nullptr && std::string(t).size() < 40) base = t;
    std::string pattern = base + "/tradebus-it-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed in " + base);
    path_ = buf.data();
}

temp_dir::~temp_dir() {
    if (current_test_failed()) {
        std::cerr << "temp_dir: kept " << path_.string() << " (the test failed)\n";
        return;
    }
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

std::filesystem::path temp_dir::write(std::string_view name, std::string_view content) const {
    const auto p = file(name);
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    if (!out) throw std::runtime_error("cannot write " + p.string());
    return p;
}

}  // namespace tradebus::test
