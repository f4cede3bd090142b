// Operator actions from the desk page (README "Operator actions on the page"): halt, resume,
// flatten and cancel, the same control requests `tradebus halt|resume|flatten|cancel` sends.
// Off unless [web] actions = true. Each action is a POST /actions/<verb> with a form body and
// an "Authorization: Bearer <token>" header; the token names the operator, and the request
// goes to the broker with `by` = "<operator> via web", so sys.trading, sys.cancel and
// sys.flatten (and the journal that records them) say who acted. The tokens come from a file
// only its owner (and group) can read; a token is compared in constant time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/schema/control.hpp"
#include "tradebus/schema/events.hpp"

namespace tradebus::web {

/// An operator who may act from the page: who (on the bus and in the journal) and the token
/// that proves it.
struct operator_token {
    std::string name;
    std::string token;
};

/// Reads a tokens file: one operator per line, "NAME TOKEN"; blank lines and lines starting
/// with '#' are skipped. NAME: 1..64 of A-Z a-z 0-9 . _ @ -; TOKEN: 24..256 printable ASCII
/// characters without blanks; names and tokens each unique. The file must not be readable or
/// writable by other users (chmod o-rwx). nullopt, with `error` naming the file, the line and
/// what was expected, otherwise.
[[nodiscard]] std::optional<std::vector<operator_token>> load_tokens(const std::string& path,
                                                                     std::string& error);

/// The operator whose token `authorization` (an Authorization header's value: "Bearer
/// <token>") carries, or nullopt. Every token is compared, each in constant time.
[[nodiscard]] std::optional<std::string> authenticate(
    const std::vector<operator_token>& tokens, std::optional<std::string_view> authorization);

/// The verbs of POST /actions/<verb>.
inline constexpr std::string_view action_verbs[] = {"halt", "resume", "flatten", "cancel"};

/// One action as its control request.
struct action_request {
    schema::control_message request;
    std::string what;              // "halt symbol AAPL (reduce-only)", "cancel every order", ...
    std::uint64_t request_id = 0;  // cancel and flatten: execution's answers carry it
};

/// Reads the form of POST /actions/<verb> (application/x-www-form-urlencoded) into its
/// request, by `by`: halt and resume take symbol or strategy (neither: the desk) and reason;
/// halt also reduce_only=1; flatten takes symbol (none: every symbol) and reason; cancel takes
/// order_id, symbol or all=1, and reason. The scope rules are the broker's (it refuses a bad
/// one with bad_request); a field longer than its bound, an unknown verb or an unknown field is
/// refused here: nullopt with `error` saying what was expected.
[[nodiscard]] std::optional<action_request> parse_action(std::string_view verb,
                                                         std::string_view form,
                                                         const std::string& by,
                                                         std::uint64_t request_id,
                                                         std::string& error);

/// The last actions taken from the page and how each ended, newest first, for the page: the
/// broker's reply, then for cancel and flatten execution's answer on the data plane
/// (cancel_done, cancel_reject, flatten_done with the action's request id).
class action_log {
  public:
    enum class status { sent, accepted, done, refused, unknown };
    struct entry {
        std::uint64_t id = 0;
        std::int64_t ts_ns = 0;
        std::string by, what;
        std::uint64_t request_id = 0;
        status st = status::sent;
        std::string detail;
    };

    explicit action_log(std::size_t keep = 20) : keep_(keep) {}

    /// A new action, about to be sent to the broker: its id in this log.
    std::uint64_t add(std::int64_t ts_ns, std::string by, std::string what,
                      std::uint64_t request_id);
    /// The broker's reply to action `id` (nullptr: none came): the entry, or nullptr when
    /// newer actions pushed it out of the log.
    const entry* on_reply(std::uint64_t id, const schema::control_message* reply);
    /// Action `id` was dropped before it was sent (the control socket stayed busy).
    const entry* on_not_sent(std::uint64_t id);
    /// A data-plane event: true when it ended an action of this log.
    bool on_event(const schema::event& ev);

    /// The log as a JSON array, and one entry as a JSON object.
    void append_json(std::string& out) const;
    static void append_entry_json(std::string& out, const entry& e);
    [[nodiscard]] const std::deque<entry>& entries() const noexcept { return entries_; }

  private:
    entry* find(std::uint64_t id);
    entry* find_request(std::uint64_t request_id);

    std::size_t keep_;
    std::uint64_t next_id_ = 0;
    std::deque<entry> entries_;  // newest first
};

[[nodiscard]] std::string_view to_string(action_log::status s);

}  // namespace tradebus::web
