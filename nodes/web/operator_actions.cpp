// Operator actions from the desk page (operator_actions.hpp).
#include "tradebus/web/operator_actions.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>

#include "tradebus/common/http.hpp"
#include "tradebus/schema/codec.hpp"
#include "tradebus/schema/orders.hpp"
#include "tradebus/web/json_out.hpp"

namespace tradebus::web {

namespace {

constexpr std::size_t max_name = 64;
constexpr std::size_t min_token = 24, max_token = 256;
constexpr std::size_t max_tokens_file = 1 << 20;

bool name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '-';
}
bool token_char(char c) { return c > ' ' && c < 0x7f; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// One form field: its name and how long its value may be.
struct field {
    std::string_view name;
    std::size_t max_bytes;
};
constexpr field f_symbol{"symbol", 64}, f_strategy{"strategy", 64}, f_order{"order_id", 128},
    f_reason{"reason", 256}, f_reduce{"reduce_only", 5}, f_all{"all", 5};

// The fields of `form`, checked against `allowed`: each value decoded, each field at most once.
class form_fields {
  public:
    form_fields(std::string_view form, std::initializer_list<field> allowed, std::string& error)
        : form_(form) {
        std::set<std::string_view> seen;
        std::string_view rest = form;
        while (!rest.empty() && error.empty()) {
            const std::size_t amp = rest.find('&');
            const std::string_view pair = rest.substr(0, amp);
            rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
            if (pair.empty()) continue;
            const std::string_view name = pair.substr(0, pair.find('='));
            const auto* f = std::find_if(allowed.begin(), allowed.end(),
                                         [&](const field& a) { return a.name == name; });
            if (f == allowed.end()) {
                std::string names;
                for (const auto& a : allowed)
                    names += (names.empty() ? "" : ", ") + std::string(a.name);
                error = "expected the fields " + names + "; got \"" +
                        std::string(name.substr(0, 64)) + "\"";
            } else if (!seen.insert(name).second) {
                error = "expected the field " + std::string(name) + " once, got it twice";
            } else if (common::http::query_value(form, name, f->max_bytes + 1).size() >
                       f->max_bytes) {
                error = "expected " + std::string(name) + " of at most " +
                        std::to_string(f->max_bytes) + " bytes";
            }
        }
    }
    [[nodiscard]] std::string text(const field& f) const {
        return common::http::query_value(form_, f.name, f.max_bytes);
    }
    [[nodiscard]] std::optional<bool> flag(const field& f, std::string& error) const {
        const std::string v = text(f);
        if (v.empty() || v == "0" || v == "false" || v == "off") return false;
        if (v == "1" || v == "true" || v == "on") return true;
        error = "expected " + std::string(f.name) + " = 1 or 0, got \"" + v + "\"";
        return std::nullopt;
    }

  private:
    std::string_view form_;
};

}  // namespace

std::optional<std::vector<operator_token>> load_tokens(const std::string& path,
                                                       std::string& error) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        error = path + ": cannot read it (" + std::string(std::strerror(errno)) + ")";
        return std::nullopt;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > static_cast<off_t>(max_tokens_file)) {
        error = path + ": expected a regular file of at most 1 MiB";
        return std::nullopt;
    }
    if ((st.st_mode & S_IRWXO) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        error = path + ": other users may read or write it (mode " + mode +
                "); the tokens let their holder halt and flatten the desk: chmod o-rwx " + path;
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path + ": cannot read it";
        return std::nullopt;
    }
    std::vector<operator_token> out;
    std::set<std::string> names, tokens;
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
        const std::string where = path + ":" + std::to_string(n) + ": ";
        const std::string_view l = trim(line);
        if (l.empty() || l.front() == '#') continue;
        const std::size_t blank = l.find_first_of(" \t");
        const std::string_view name = l.substr(0, blank);
        const std::string_view token =
            blank == std::string_view::npos ? std::string_view{} : trim(l.substr(blank));
        if (name.empty() || name.size() > max_name ||
            !std::all_of(name.begin(), name.end(), name_char)) {
            error = where + "expected NAME TOKEN with NAME of 1..64 of A-Z a-z 0-9 . _ @ -";
            return std::nullopt;
        }
        if (token.size() < min_token || token.size() > max_token ||
            !std::all_of(token.begin(), token.end(), token_char)) {
            error = where +
                    "expected a TOKEN of 24..256 printable characters without blanks after " +
                    std::string(name) + " (e.g. head -c 24 /dev/urandom | base64)";
            return std::nullopt;
        }
        if (!names.emplace(name).second) {
            error = where + "operator " + std::string(name) + " is listed twice";
            return std::nullopt;
        }
        if (!tokens.emplace(token).second) {
            error = where + "this token is already another operator's";
            return std::nullopt;
        }
        out.push_back({std::string(name), std::string(token)});
    }
    if (out.empty()) {
        error = path + ": expected at least one line NAME TOKEN";
        return std::nullopt;
    }
    return out;
}

std::optional<std::string> authenticate(const std::vector<operator_token>& tokens,
                                        std::optional<std::string_view> authorization) {
    if (!authorization || authorization->size() < 7) return std::nullopt;
    const std::string_view scheme = authorization->substr(0, 7);
    if (scheme != "Bearer " && scheme != "bearer " && scheme != "BEARER ") return std::nullopt;
    const std::string_view given = trim(authorization->substr(7));
    const operator_token* found = nullptr;
    for (const auto& t : tokens) {  // no early exit: every token is compared
        if (common::http::constant_time_equal(t.token, given)) found = &t;
    }
    if (found == nullptr) return std::nullopt;
    return found->name;
}

std::optional<action_request> parse_action(std::string_view verb, std::string_view form,
                                           const std::string& by, std::uint64_t request_id,
                                           std::string& error) {
    action_request out;
    if (verb == "halt" || verb == "resume") {
        const bool halt = verb == "halt";
        const form_fields f(
            form,
            halt ? std::initializer_list<field>{f_symbol, f_strategy, f_reason, f_reduce}
                 : std::initializer_list<field>{f_symbol, f_strategy, f_reason},
            error);
        if (!error.empty()) return std::nullopt;
        const std::string symbol = f.text(f_symbol), strategy = f.text(f_strategy);
        const std::string reason = f.text(f_reason);
        out.what = std::string(verb) + " " + schema::trading_scope_name(symbol, strategy);
        if (halt) {
            const auto reduce = f.flag(f_reduce, error);
            if (!reduce) return std::nullopt;
            if (*reduce) out.what += " (reduce-only)";
            out.request = schema::halt_request{.reason = reason,
                                               .by = by,
                                               .symbol = symbol,
                                               .strategy = strategy,
                                               .reduce_only = *reduce};
        } else {
            out.request = schema::resume_request{
                .reason = reason, .by = by, .symbol = symbol, .strategy = strategy};
        }
        return out;
    }
    if (verb == "flatten") {
        const form_fields f(form, {f_symbol, f_reason}, error);
        if (!error.empty()) return std::nullopt;
        const std::string symbol = f.text(f_symbol);
        out.what = "flatten " + (symbol.empty() ? std::string("every symbol") : symbol);
        out.request_id = request_id;
        out.request = schema::flatten_command{
            .request_id = request_id, .symbol = symbol, .reason = f.text(f_reason), .by = by};
        return out;
    }
    if (verb == "cancel") {
        const form_fields f(form, {f_order, f_symbol, f_all, f_reason}, error);
        if (!error.empty()) return std::nullopt;
        const auto all = f.flag(f_all, error);
        if (!all) return std::nullopt;
        const std::string order = f.text(f_order), symbol = f.text(f_symbol);
        out.what = *all              ? std::string("cancel every order")
                   : !order.empty()  ? "cancel order " + order
                   : !symbol.empty() ? "cancel the orders of " + symbol
                                     : std::string("cancel");
        out.request_id = request_id;
        out.request = schema::cancel_command{.request_id = request_id,
                                             .order_id = order,
                                             .symbol = symbol,
                                             .all = *all,
                                             .reason = f.text(f_reason),
                                             .by = by};
        return out;
    }
    error =
        "expected an action: POST /actions/halt, /actions/resume, /actions/flatten or "
        "/actions/cancel";
    return std::nullopt;
}

std::string_view to_string(action_log::status s) {
    switch (s) {
        case action_log::status::sent:
            return "sent";
        case action_log::status::accepted:
            return "accepted";
        case action_log::status::done:
            return "done";
        case action_log::status::refused:
            return "refused";
        case action_log::status::unknown:
            return "unknown";
    }
    return "unknown";
}

std::uint64_t action_log::add(std::int64_t ts_ns, std::string by, std::string what,
                              std::uint64_t request_id) {
    entries_.push_front(entry{.id = ++next_id_,
                              .ts_ns = ts_ns,
                              .by = std::move(by),
                              .what = std::move(what),
                              .request_id = request_id,
                              .st = status::sent,
                              .detail = "sent to the broker"});
    while (entries_.size() > keep_) entries_.pop_back();
    return next_id_;
}

action_log::entry* action_log::find(std::uint64_t id) {
    for (auto& e : entries_) {
        if (e.id == id) return &e;
    }
    return nullptr;
}

action_log::entry* action_log::find_request(std::uint64_t request_id) {
    if (request_id == 0) return nullptr;
    for (auto& e : entries_) {
        // Sent too: execution's answer may come before the broker's reply.
        if (e.request_id == request_id && (e.st == status::accepted || e.st == status::sent)) {
            return &e;
        }
    }
    return nullptr;
}

const action_log::entry* action_log::on_not_sent(std::uint64_t id) {
    entry* e = find(id);
    if (e == nullptr) return nullptr;
    e->st = status::refused;
    e->detail =
        "not sent: the node's control requests did not get through to the broker in "
        "time; nothing was done";
    return e;
}

const action_log::entry* action_log::on_reply(std::uint64_t id,
                                              const schema::control_message* reply) {
    entry* e = find(id);
    if (e == nullptr) return nullptr;
    if (reply == nullptr) {
        e->st = status::unknown;
        e->detail =
            "the broker did not answer: it may or may not have acted (see the trading "
            "state, or tradebus status)";
    } else if (const auto* ok = std::get_if<schema::ok_reply>(reply)) {
        // Cancel and flatten are carried out by execution and risk: they answer on the bus,
        // sometimes before this reply arrives (then their answer stays).
        if (e->st != status::sent) return e;
        e->st = e->request_id != 0 ? status::accepted : status::done;
        e->detail = ok->detail;
    } else if (const auto* err = std::get_if<schema::error_reply>(reply)) {
        // A halt that could not be saved is in force all the same (until a broker restart).
        const bool in_force =
            err->code == schema::error_code::not_durable && e->what.starts_with("halt");
        e->st = in_force ? status::done : status::refused;
        e->detail = err->code + ": " + err->reason;
    } else {
        e->st = status::unknown;
        e->detail = "unexpected reply " + std::string(schema::type_name(*reply));
    }
    return e;
}

bool action_log::on_event(const schema::event& ev) {
    if (const auto* d = std::get_if<schema::cancel_done>(&ev.body)) {
        entry* e = find_request(d->request_id);
        if (e == nullptr || e->what.starts_with("flatten")) return false;  // flatten's own cancel
        e->st = status::done;
        e->detail = std::to_string(d->cancelled) + " order(s) cancelled" +
                    (d->cancelled == 0 ? " (nothing was resting)" : "");
        return true;
    }
    if (const auto* r = std::get_if<schema::cancel_reject>(&ev.body)) {
        entry* e = find_request(r->request_id);
        if (e == nullptr) return false;
        e->st = status::refused;
        e->detail = "refused by execution: " + r->code + ": " + r->reason;
        return true;
    }
    if (const auto* f = std::get_if<schema::flatten_done>(&ev.body)) {
        entry* e = find_request(f->request_id);
        if (e == nullptr) return false;
        if (!f->error.empty()) {
            e->st = status::refused;
            e->detail = f->error;
            return true;
        }
        e->st = status::done;
        e->detail = std::to_string(f->cancelled) + " order(s) cancelled, " +
                    std::to_string(f->closing.size()) + " closing order(s) sent";
        if (!f->left.empty()) {
            e->detail += ", " + std::to_string(f->left.size()) + " position(s) left open (";
            for (std::size_t i = 0; i < f->left.size(); ++i) {
                e->detail += (i > 0 ? "; " : "") + f->left[i].symbol + ": " + f->left[i].reason;
            }
            e->detail += ")";
        }
        return true;
    }
    return false;
}

void action_log::append_entry_json(std::string& out, const entry& e) {
    out += '{';
    json::unum(out, "id", e.id);
    json::num(out, "ts_ns", e.ts_ns);
    json::str(out, "by", e.by);
    json::str(out, "what", e.what);
    json::str(out, "request_id", std::to_string(e.request_id));  // above 2^53
    json::str(out, "status", to_string(e.st));
    json::str(out, "detail", e.detail);
    out += '}';
}

void action_log::append_json(std::string& out) const {
    out += '[';
    for (const auto& e : entries_) {
        json::item(out);
        append_entry_json(out, e);
    }
    out += ']';
}

}  // namespace tradebus::web
