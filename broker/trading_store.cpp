#include "tradebus/broker/trading_store.hpp"

#include <fcntl.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "tradebus/broker/defaults.hpp"
#include "tradebus/schema/orders.hpp"

namespace tradebus::broker {

namespace {

// The largest state file read: a record is a few hundred bytes (a reason at most a control
// message's string limit), and the broker keeps at most defaults::max_trading_scopes scopes;
// anything bigger is not ours.
constexpr std::uintmax_t max_file_bytes = 8 * 1024 * 1024;
constexpr std::size_t max_scopes = defaults::max_trading_scopes;

std::string errno_text(int e) { return std::strerror(e); }

// write(2) all of `text` to `fd`, retrying short writes and EINTR.
bool write_all(int fd, const std::string& text) {
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        done += static_cast<std::size_t>(n);
    }
    return true;
}

// A record's keys in `t`: why they are malformed, or nullopt with `r` filled.
std::optional<std::string> read_record(const toml::table& t, trading_record& r) {
    const auto state = t["state"].value<std::string>();
    const auto parsed = state ? schema::parse_enum<schema::trading_state>(*state) : std::nullopt;
    if (!parsed) return "state: expected \"active\", \"reducing\" or \"halted\"";
    const auto since = t["since_ns"].value<std::int64_t>();
    if (!since || *since < 0) return "since_ns: expected a non-negative integer";
    r.state = *parsed;
    r.reason = t["reason"].value_or(std::string{});
    r.by = t["by"].value_or(std::string{});
    r.since_ns = *since;
    return std::nullopt;
}

toml::table record_table(const trading_record& r) {
    return toml::table{{"state", std::string(schema::to_string(r.state))},
                       {"reason", r.reason},
                       {"by", r.by},
                       {"since_ns", r.since_ns}};
}

}  // namespace

trading_store::loaded trading_store::load(schema::trading_state missing,
                                          std::int64_t now_ns) const {
    loaded out;
    out.record.since_ns = now_ns;
    out.record.by = "broker";
    const auto damaged = [&](const std::string& why) {
        out.record.state = schema::trading_state::halted;
        out.record.reason = "cannot read the saved trading state " + file_.string() + ": " + why;
        out.note = out.record.reason + "; starting halted until an operator resumes";
        return out;
    };
    std::error_code ec;
    if (file_.empty() || !std::filesystem::exists(file_, ec)) {
        if (ec) return damaged(ec.message());
        out.record.state = missing;
        out.record.reason = "no saved trading state";
        out.note = (file_.empty() ? std::string("no [trading] state_file configured")
                                  : "no saved trading state in " + file_.string()) +
                   ": starting " + std::string(schema::to_string(missing)) +
                   " ([trading] missing_state)";
        return out;
    }
    const auto size = std::filesystem::file_size(file_, ec);
    if (ec) return damaged(ec.message());
    if (size > max_file_bytes) return damaged(std::to_string(size) + " bytes is not a state file");
    toml::table t;
    try {
        t = toml::parse_file(file_.string());
    } catch (const toml::parse_error& e) {
        std::ostringstream where;
        where << e.source().begin;
        return damaged(std::string(e.description()) + " at " + where.str());
    }
    const auto format = t["format"].value<std::int64_t>();
    if (t.contains("format") && (!format || *format < 1 || *format > trading_file_format)) {
        return damaged("format: expected 1.." + std::to_string(trading_file_format) +
                       " (a newer broker wrote it?)");
    }
    trading_record desk;
    if (auto bad = read_record(t, desk)) return damaged(*bad);
    std::vector<trading_scope_record> scopes;
    if (const auto* list = t["scope"].as_array()) {
        if (list->size() > max_scopes) {
            return damaged("scope: " + std::to_string(list->size()) + " entries, at most " +
                           std::to_string(max_scopes));
        }
        for (std::size_t i = 0; i < list->size(); ++i) {
            const std::string at = "scope[" + std::to_string(i) + "].";
            const auto* entry = list->get(i)->as_table();
            if (entry == nullptr) return damaged(at + ": expected a table");
            trading_scope_record scope;
            scope.symbol = (*entry)["symbol"].value_or(std::string{});
            scope.strategy = (*entry)["strategy"].value_or(std::string{});
            if (scope.symbol.empty() && scope.strategy.empty()) {
                return damaged(at + "symbol / strategy: expected one of them");
            }
            if (auto bad = schema::trading_scope_error(scope.symbol, scope.strategy)) {
                return damaged(at + "symbol / strategy: " + *bad);
            }
            if (auto bad = read_record(*entry, scope.record)) return damaged(at + *bad);
            if (scope.record.state == schema::trading_state::active) {
                return damaged(at + "state: expected \"reducing\" or \"halted\"");
            }
            scopes.push_back(std::move(scope));
        }
    } else if (t.contains("scope")) {
        return damaged("scope: expected an array of tables");
    }
    out.record = std::move(desk);
    out.scopes = std::move(scopes);
    out.restored = true;
    out.note = "trading state restored from " + file_.string() + ": " +
               std::string(schema::to_string(out.record.state)) + " (" + out.record.reason +
               ", by " + out.record.by + ")";
    for (const auto& sc : out.scopes) {
        out.note += "; " + schema::trading_scope_name(sc.symbol, sc.strategy) + " " +
                    std::string(schema::to_string(sc.record.state)) + " (" + sc.record.reason +
                    ", by " + sc.record.by + ")";
    }
    return out;
}

std::optional<std::string> trading_store::save(
    const trading_record& desk, const std::vector<trading_scope_record>& scopes) const {
    if (file_.empty()) return std::nullopt;
    toml::table t = record_table(desk);
    t.insert("format", trading_file_format);
    toml::array list;
    for (const auto& sc : scopes) {
        toml::table entry = record_table(sc.record);
        if (!sc.symbol.empty()) entry.insert("symbol", sc.symbol);
        if (!sc.strategy.empty()) entry.insert("strategy", sc.strategy);
        list.push_back(std::move(entry));
    }
    if (!list.empty()) t.insert("scope", std::move(list));
    std::ostringstream text;
    text << "# The broker's trading state (README \"Trading state\"), rewritten on every halt and\n"
            "# resume: the desk's, then each symbol or strategy scope in force ([[scope]]).\n"
            "# Do not edit while the broker runs: use tradebus halt / resume.\n"
         << t << "\n";
    const std::filesystem::path dir =
        file_.has_parent_path() ? file_.parent_path() : std::filesystem::path(".");
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return "cannot create " + dir.string() + ": " + ec.message();
    const std::filesystem::path tmp = file_.string() + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return "cannot write " + tmp.string() + ": " + errno_text(errno);
    const bool written = write_all(fd, text.str()) && ::fsync(fd) == 0;
    const int write_errno = errno;
    ::close(fd);
    if (!written) {
        ::unlink(tmp.c_str());
        return "cannot write " + tmp.string() + ": " + errno_text(write_errno);
    }
    if (::rename(tmp.c_str(), file_.c_str()) != 0) {
        const int e = errno;
        ::unlink(tmp.c_str());
        return "cannot replace " + file_.string() + ": " + errno_text(e);
    }
    // The rename itself is durable only once the directory is synced.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return "cannot sync " + dir.string() + ": " + errno_text(errno);
    const bool synced = ::fsync(dfd) == 0;
    const int sync_errno = errno;
    ::close(dfd);
    if (!synced) return "cannot sync " + dir.string() + ": " + errno_text(sync_errno);
    return std::nullopt;
}

}  // namespace tradebus::broker
