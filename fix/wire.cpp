#include "tradebus/fix/wire.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>

namespace tradebus::fix {

namespace {

std::optional<std::int64_t> parse_uint(std::string_view s) noexcept {
    if (s.empty() || s.size() > 18) return std::nullopt;
    std::int64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        v = v * 10 + (c - '0');
    }
    return v;
}

std::string_view trim_zero_fraction(std::string_view s) noexcept {
    // "100.00" -> "100": quantities are whole lots; a non-zero fraction is refused later.
    const auto dot = s.find('.');
    if (dot == std::string_view::npos) return s;
    for (auto i = dot + 1; i < s.size(); ++i) {
        if (s[i] != '0') return s;
    }
    return s.substr(0, dot);
}

}  // namespace

std::optional<message> message::parse(std::string text, std::string& error) {
    if (text.size() > max_message_bytes) {
        error = "message of " + std::to_string(text.size()) + " bytes (at most " +
                std::to_string(max_message_bytes) + ")";
        return std::nullopt;
    }
    message m;
    m.text_ = std::move(text);
    const std::string_view t(m.text_);
    std::size_t pos = 0;
    while (pos < t.size()) {
        if (m.fields_.size() >= max_fields) {
            error = "more than " + std::to_string(max_fields) + " fields";
            return std::nullopt;
        }
        const auto eq = t.find('=', pos);
        const auto end = t.find(soh, pos);
        if (end == std::string_view::npos) {
            error = "field at byte " + std::to_string(pos) + " not ended by SOH";
            return std::nullopt;
        }
        if (eq == std::string_view::npos || eq > end) {
            error = "field at byte " + std::to_string(pos) + " has no '='";
            return std::nullopt;
        }
        const auto tag = parse_uint(t.substr(pos, eq - pos));
        if (!tag || *tag <= 0 || *tag > 999'999'999 || t[pos] == '0') {
            error = "bad tag \"" + printable(t.substr(pos, std::min<std::size_t>(eq - pos, 20))) +
                    "\" at byte " + std::to_string(pos);
            return std::nullopt;
        }
        if (end == eq + 1) {
            error = "tag " + std::to_string(*tag) + " has an empty value";
            return std::nullopt;
        }
        m.fields_.push_back(field{static_cast<int>(*tag), static_cast<std::uint32_t>(eq + 1),
                                  static_cast<std::uint32_t>(end - eq - 1)});
        pos = end + 1;
    }
    const auto& f = m.fields_;
    if (f.size() < 4 || f[0].tag != tag::begin_string || f[1].tag != tag::body_length ||
        f[2].tag != tag::msg_type || f.back().tag != tag::checksum) {
        error = "expected 8=, 9=, 35= first and 10= last";
        return std::nullopt;
    }
    const auto declared = parse_uint(m.value(f[1]));
    const std::size_t body_start = f[1].offset + f[1].length + 1;
    const std::size_t trailer_start = f.back().offset - 3;  // "10="
    if (!declared || static_cast<std::size_t>(*declared) != trailer_start - body_start) {
        error = "BodyLength " + std::string(m.value(f[1]).substr(0, 20)) + " but the body has " +
                std::to_string(trailer_start - body_start) + " bytes";
        return std::nullopt;
    }
    unsigned sum = 0;
    for (std::size_t i = 0; i < trailer_start; ++i) sum += static_cast<unsigned char>(t[i]);
    const auto declared_sum = parse_uint(m.value(f.back()));
    if (m.value(f.back()).size() != 3 || !declared_sum ||
        static_cast<unsigned>(*declared_sum) != sum % 256) {
        error = "CheckSum " + std::string(m.value(f.back()).substr(0, 20)) + ", computed " +
                std::to_string(sum % 256);
        return std::nullopt;
    }
    return m;
}

std::optional<std::string_view> message::get(int tag) const noexcept {
    for (const auto& f : fields_) {
        if (f.tag == tag) return value(f);
    }
    return std::nullopt;
}

std::optional<std::string_view> message::get(const entry& e, int tag) const noexcept {
    for (const auto& f : e) {
        if (f.tag == tag) return value(f);
    }
    return std::nullopt;
}

std::optional<std::int64_t> message::get_int(int tag) const noexcept {
    const auto v = get(tag);
    return v ? parse_uint(*v) : std::nullopt;
}

std::optional<std::int64_t> message::get_price(int tag) const noexcept {
    const auto v = get(tag);
    return v ? schema::parse_fixed(*v) : std::nullopt;
}

std::optional<std::int64_t> message::get_qty(int tag) const noexcept {
    const auto v = get(tag);
    return v ? parse_uint(trim_zero_fraction(*v)) : std::nullopt;
}

bool message::poss_dup() const noexcept { return get(tag::poss_dup) == "Y"; }

std::optional<std::vector<message::entry>> message::group(int count_tag, int first_tag,
                                                          std::initializer_list<int> member_tags,
                                                          std::size_t max_entries) const {
    std::size_t i = 0;
    while (i < fields_.size() && fields_[i].tag != count_tag) ++i;
    if (i == fields_.size()) return std::nullopt;
    const auto count = parse_uint(value(fields_[i]));
    if (!count || static_cast<std::size_t>(*count) > max_entries) return std::nullopt;
    std::vector<entry> out;
    ++i;
    const auto member = [&](int t) {
        return t == first_tag ||
               std::find(member_tags.begin(), member_tags.end(), t) != member_tags.end();
    };
    while (i < fields_.size() && fields_[i].tag == first_tag) {
        if (out.size() == static_cast<std::size_t>(*count)) return std::nullopt;  // too many
        entry e{fields_[i]};
        ++i;
        while (i < fields_.size() && fields_[i].tag != first_tag && member(fields_[i].tag)) {
            e.push_back(fields_[i]);
            ++i;
        }
        out.push_back(std::move(e));
    }
    if (out.size() != static_cast<std::size_t>(*count)) return std::nullopt;
    return out;
}

body& body::add(int tag, std::string_view value) {
    text_ += std::to_string(tag);
    text_.push_back('=');
    text_.append(value);
    text_.push_back(soh);
    return *this;
}

body& body::add(int tag, std::int64_t value) { return add(tag, std::to_string(value)); }

body& body::add_price(int tag, std::int64_t fixed) {
    std::string v = schema::format_fixed(fixed);
    // FIX prices need no trailing zeros: "189.50" -> "189.5", "12.00" -> "12".
    while (!v.empty() && v.back() == '0') v.pop_back();
    if (!v.empty() && v.back() == '.') v.pop_back();
    return add(tag, v);
}

std::string safe_value(std::string_view text, std::size_t max_len) {
    std::string out;
    for (char c : text.substr(0, max_len)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
    }
    if (out.empty()) out = "?";
    return out;
}

std::string utc_timestamp(std::int64_t ts_ns) {
    using namespace std::chrono;
    const sys_time<nanoseconds> tp{nanoseconds{ts_ns}};
    const auto day = floor<days>(tp);
    const year_month_day ymd{day};
    const hh_mm_ss hms{floor<milliseconds>(tp - day)};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d%02u%02u-%02d:%02d:%02d.%03d", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()),
                  static_cast<int>(hms.subseconds().count()));
    return buf;
}

std::optional<std::int64_t> parse_utc_timestamp(std::string_view s) noexcept {
    // YYYYMMDD-HH:MM:SS with an optional .sss (or up to 9 fraction digits)
    if (s.size() < 17 || s[8] != '-' || s[11] != ':' || s[14] != ':') return std::nullopt;
    const auto y = parse_uint(s.substr(0, 4)), mo = parse_uint(s.substr(4, 2)),
               d = parse_uint(s.substr(6, 2)), h = parse_uint(s.substr(9, 2)),
               mi = parse_uint(s.substr(12, 2)), sec = parse_uint(s.substr(15, 2));
    // Years 1970..2261: ns since the epoch in an int64 end in April 2262.
    if (!y || !mo || !d || !h || !mi || !sec || *y < 1970 || *y > 2261 || *mo < 1 || *mo > 12 ||
        *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *sec > 60) {
        return std::nullopt;
    }
    std::int64_t frac_ns = 0;
    if (s.size() > 17) {
        if (s[17] != '.' || s.size() > 27 || s.size() == 18) return std::nullopt;
        const auto frac = parse_uint(s.substr(18));
        if (!frac) return std::nullopt;
        frac_ns = *frac;
        for (auto n = s.size() - 18; n < 9; ++n) frac_ns *= 10;
    }
    using namespace std::chrono;
    const year_month_day ymd{year{static_cast<int>(*y)}, month{static_cast<unsigned>(*mo)},
                             day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    const auto days_since = sys_days{ymd}.time_since_epoch().count();
    return ((static_cast<std::int64_t>(days_since) * 24 + *h) * 60 + *mi) * 60'000'000'000 +
           *sec * 1'000'000'000 + frac_ns;
}

char side_code(schema::side s) noexcept { return s == schema::side::sell ? '2' : '1'; }

std::optional<schema::side> side_from(std::string_view v) noexcept {
    if (v == "1") return schema::side::buy;
    if (v == "2") return schema::side::sell;
    return std::nullopt;
}

char ord_type_code(schema::order_type t) noexcept {
    return t == schema::order_type::limit ? '2' : '1';
}

std::optional<schema::order_type> ord_type_from(std::string_view v) noexcept {
    if (v == "1") return schema::order_type::market;
    if (v == "2") return schema::order_type::limit;
    return std::nullopt;
}

char tif_code(schema::time_in_force t) noexcept {
    switch (t) {
        case schema::time_in_force::day:
            return '0';
        case schema::time_in_force::gtc:
            return '1';
        case schema::time_in_force::ioc:
            return '3';
        case schema::time_in_force::fok:
            return '4';
    }
    return '0';
}

std::optional<schema::time_in_force> tif_from(std::string_view v) noexcept {
    if (v == "0") return schema::time_in_force::day;
    if (v == "1") return schema::time_in_force::gtc;
    if (v == "3") return schema::time_in_force::ioc;
    if (v == "4") return schema::time_in_force::fok;
    return std::nullopt;
}

std::string printable(std::string_view text, std::size_t max_len) {
    std::string out;
    for (char c : text.substr(0, max_len)) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(c == soh ? '|' : (u < 0x20 || u >= 0x7f ? '?' : c));
    }
    if (text.size() > max_len) out += "...";
    return out;
}

}  // namespace tradebus::fix
