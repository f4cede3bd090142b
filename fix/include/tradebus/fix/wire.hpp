// FIX tag=value text as the adapter and the venue simulator read and write it (C++20, no
// QuickFIX): a validating parser for what arrives from the engine (engine.hpp) and a builder for
// message bodies. QuickFIX already checked the session layer (sequence numbers, checksum, the
// data dictionary) of what it delivers; this parser checks again because the text is still
// input from a peer: nothing here trusts a length, a count or a number it reads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradebus/schema/types.hpp"

namespace tradebus::fix {

inline constexpr char soh = '\x01';
/// Longest message accepted, and most fields in one: beyond either it is refused, not read.
inline constexpr std::size_t max_message_bytes = 1 << 20;
inline constexpr std::size_t max_fields = 8192;

/// Tags used by the adapter, the market data source and the simulator (FIX 4.4).
namespace tag {
inline constexpr int begin_string = 8, body_length = 9, checksum = 10, msg_type = 35;
inline constexpr int msg_seq_num = 34, poss_dup = 43, poss_resend = 97, sender = 49, target = 56;
inline constexpr int sending_time = 52, text = 58, ref_seq_num = 45, ref_tag = 371;
inline constexpr int ref_msg_type = 372, reject_reason = 373, session_reject_reason = 373;
inline constexpr int cl_ord_id = 11, orig_cl_ord_id = 41, order_id = 37, exec_id = 17;
inline constexpr int exec_type = 150, ord_status = 39, symbol = 55, side = 54, order_qty = 38;
inline constexpr int ord_type = 40, price = 44, time_in_force = 59, expire_time = 126;
inline constexpr int transact_time = 60, last_qty = 32, last_px = 31, cum_qty = 14;
inline constexpr int leaves_qty = 151, avg_px = 6, ord_rej_reason = 103, exec_inst = 18;
inline constexpr int cxl_rej_reason = 102, cxl_rej_response_to = 434, mass_status_req_id = 584;
inline constexpr int mass_status_req_type = 585, tot_num_reports = 911, last_rpt_requested = 912;
inline constexpr int md_req_id = 262, subscription_request_type = 263, market_depth = 264;
inline constexpr int md_update_type = 265, no_md_entry_types = 267, md_entry_type = 269;
inline constexpr int no_related_sym = 146, no_md_entries = 268, md_entry_px = 270;
inline constexpr int md_entry_size = 271, md_update_action = 279, md_req_rej_reason = 281;
inline constexpr int business_reject_reason = 380, handl_inst = 21, account = 1;
}  // namespace tag

/// One field: its tag and where its value lies in the message text.
struct field {
    int tag = 0;
    std::uint32_t offset = 0, length = 0;
};

/// A parsed message: the text and its fields in wire order (header, body, trailer).
class message {
  public:
    /// Parses one complete message: "8=" first, "9=" second with the exact body length, "35="
    /// third, "10=" last with the right checksum, each field "<tag>=<value>" ended by SOH, tags
    /// positive decimal integers, values not empty. nullopt with `error` set otherwise.
    static std::optional<message> parse(std::string text, std::string& error);

    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    [[nodiscard]] const std::vector<field>& fields() const noexcept { return fields_; }
    [[nodiscard]] std::string_view value(const field& f) const noexcept {
        return std::string_view(text_).substr(f.offset, f.length);
    }
    [[nodiscard]] std::string_view type() const noexcept { return value(fields_[2]); }
    /// The first field with `tag`, or nullopt.
    [[nodiscard]] std::optional<std::string_view> get(int tag) const noexcept;
    /// The first field with `tag` as a non-negative integer / a decimal price / a quantity
    /// (a whole number, FIX allows "100" and "100.0"); nullopt when absent or malformed.
    [[nodiscard]] std::optional<std::int64_t> get_int(int tag) const noexcept;
    [[nodiscard]] std::optional<std::int64_t> get_price(int tag) const noexcept;
    [[nodiscard]] std::optional<std::int64_t> get_qty(int tag) const noexcept;
    /// PossDupFlag (43) = Y: a resent message the receiver may have seen before.
    [[nodiscard]] bool poss_dup() const noexcept;

    /// The entries of a repeating group: `count_tag` gives how many, each entry starts with
    /// `first_tag` and holds the fields up to the next `first_tag` or the first field whose tag
    /// is not in `member_tags` (the group's end). nullopt when the count is missing or does not
    /// match the entries found, or exceeds `max_entries`.
    using entry = std::vector<field>;
    [[nodiscard]] std::optional<std::vector<entry>> group(int count_tag, int first_tag,
                                                          std::initializer_list<int> member_tags,
                                                          std::size_t max_entries) const;
    /// The value of `tag` within one group entry.
    [[nodiscard]] std::optional<std::string_view> get(const entry& e, int tag) const noexcept;

  private:
    std::string text_;
    std::vector<field> fields_;
};

/// Builds a message body: fields in the order added, each "tag=value" + SOH. The engine adds
/// the header (8, 9, 35, 49, 56, 34, 52) and the trailer.
class body {
  public:
    body& add(int tag, std::string_view value);
    body& add(int tag, std::int64_t value);
    /// A fixed-point price (1e-8 units) as a plain decimal.
    body& add_price(int tag, std::int64_t fixed);
    [[nodiscard]] const std::string& str() const noexcept { return text_; }

  private:
    std::string text_;
};

/// Field values fit for FIX: no SOH, no '=' problems (values may contain '='), at most
/// `max_len` bytes; control characters replaced by '?'. For text from the bus going out.
[[nodiscard]] std::string safe_value(std::string_view text, std::size_t max_len = 256);

/// UTCTimestamp "YYYYMMDD-HH:MM:SS.sss" <-> ns since the epoch.
[[nodiscard]] std::string utc_timestamp(std::int64_t ts_ns);
[[nodiscard]] std::optional<std::int64_t> parse_utc_timestamp(std::string_view text) noexcept;

/// schema enums <-> FIX codes: Side (54) 1/2, OrdType (40) 1/2, TimeInForce (59) 0/1/3/4.
[[nodiscard]] char side_code(schema::side s) noexcept;
[[nodiscard]] std::optional<schema::side> side_from(std::string_view v) noexcept;
[[nodiscard]] char ord_type_code(schema::order_type t) noexcept;
[[nodiscard]] std::optional<schema::order_type> ord_type_from(std::string_view v) noexcept;
[[nodiscard]] char tif_code(schema::time_in_force t) noexcept;
[[nodiscard]] std::optional<schema::time_in_force> tif_from(std::string_view v) noexcept;

/// The message with every SOH shown as '|', cut to `max_len`: for logs.
[[nodiscard]] std::string printable(std::string_view text, std::size_t max_len = 512);

}  // namespace tradebus::fix
