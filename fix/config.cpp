#include "tradebus/fix/config.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace tradebus::fix {

std::string default_dictionary() {
    const std::string installed = TRADEBUS_FIX_DICTIONARY_INSTALLED;
    std::error_code ec;
    if (std::filesystem::exists(installed, ec)) return installed;
    return TRADEBUS_FIX_DICTIONARY_SOURCE;
}

bool valid_comp_id(std::string_view id) noexcept {
    if (id.empty() || id.size() > 64) return false;
    for (char c : id) {
        if (c <= ' ' || c > '~' || c == '=') return false;
    }
    return true;
}

namespace {

std::string comp_id(common::section& fix, std::string_view key) {
    std::string id = fix.string(key, "", true);
    if (!id.empty() && !valid_comp_id(id)) {
        fix.error(key, "expected 1..64 printable ASCII characters without spaces or '='");
    }
    return id;
}

std::string existing_file(common::section& fix, std::string_view key, std::string fallback,
                          bool required) {
    std::string path = fix.string(key, std::move(fallback), required);
    std::error_code ec;
    if (!path.empty() && !std::filesystem::is_regular_file(path, ec)) {
        fix.error(key, "no such file: " + path);
    }
    return path;
}

}  // namespace

session_settings read_session(common::section& fix) {
    session_settings s;
    s.sender_comp_id = comp_id(fix, "sender_comp_id");
    s.target_comp_id = comp_id(fix, "target_comp_id");
    s.host = fix.string("host", s.host);
    if (s.host.empty()) fix.error("host", "expected a host name or address");
    s.port = static_cast<int>(fix.integer("port", 0, 1, 65535, true));
    s.heartbeat_s = static_cast<int>(fix.integer("heartbeat_interval_s", s.heartbeat_s, 1, 3600));
    s.reconnect_s = static_cast<int>(fix.integer("reconnect_interval_s", s.reconnect_s, 1, 3600));
    s.logon_timeout_s = static_cast<int>(fix.integer("logon_timeout_s", s.logon_timeout_s, 1, 600));
    s.reset_on_logon = fix.boolean("reset_on_logon", s.reset_on_logon);
    s.data_dictionary = existing_file(fix, "data_dictionary", default_dictionary(), false);
    s.store_dir = fix.string("store_dir", "", true);
    const std::string password_file = existing_file(fix, "password_file", "", false);
    if (!password_file.empty()) {
        std::ifstream in(password_file);
        std::stringstream text;
        text << in.rdbuf();
        s.password = text.str();
        while (!s.password.empty() && (s.password.back() == '\n' || s.password.back() == '\r')) {
            s.password.pop_back();
        }
        if (!in || s.password.empty()) {
            fix.error("password_file", "cannot read a password from " + password_file);
        } else if (s.password.find('\x01') != std::string::npos) {
            fix.error("password_file", "the password contains SOH (0x01)");
        }
    }
    s.tls = fix.boolean("tls", false);
    s.tls_ca_file = existing_file(fix, "tls_ca_file", "", false);
    s.tls_cert_file = existing_file(fix, "tls_cert_file", "", false);
    s.tls_key_file = existing_file(fix, "tls_key_file", "", false);
    if (s.tls_cert_file.empty() != s.tls_key_file.empty()) {
        fix.error(s.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
                  "tls_cert_file and tls_key_file go together");
    }
    return s;
}

}  // namespace tradebus::fix
