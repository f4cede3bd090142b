// fix/wire: the tag=value parser (every way a peer's text can be wrong), the body builder,
// prices, timestamps and the enum codes; and the [*.fix] config reader's errors.
#include <doctest/doctest.h>

#include <string>

#include "tradebus/fix/wire.hpp"

using namespace tradebus;
using namespace tradebus::fix;

namespace {

// A whole message from a body, with the right BodyLength and CheckSum (as the engine sends).
std::string framed(const std::string& type_and_body) {
    std::string text =
        "8=FIX.4.4\x01"
        "9=" +
        std::to_string(type_and_body.size()) + "\x01" + type_and_body;
    unsigned sum = 0;
    for (char c : text) sum += static_cast<unsigned char>(c);
    char trailer[8];
    std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
    return text + trailer;
}

std::optional<message> parse(std::string text) {
    std::string error;
    auto m = message::parse(std::move(text), error);
    if (!m) MESSAGE("parse error: " << error);
    return m;
}

std::string error_of(std::string text) {
    std::string error;
    auto m = message::parse(std::move(text), error);
    CHECK_FALSE(m.has_value());
    return error;
}

}  // namespace

TEST_CASE("fix wire: an execution report parses into typed fields") {
    body b;
    b.add(tag::order_id, "V1").add(tag::cl_ord_id, "risk-1-7").add(tag::exec_id, "E9");
    b.add(tag::exec_type, "F").add(tag::ord_status, "1").add(tag::symbol, "AAPL");
    b.add(tag::side, "2").add(tag::last_qty, "40").add_price(tag::last_px, 18951000000);
    b.add(tag::cum_qty, "40.0").add(tag::leaves_qty, std::int64_t{60});
    const auto m = parse(framed("35=8\x01" + b.str()));
    REQUIRE(m);
    CHECK(m->type() == "8");
    CHECK(m->get(tag::cl_ord_id) == "risk-1-7");
    CHECK(m->get_price(tag::last_px) == 18951000000);
    CHECK(m->get_qty(tag::cum_qty) == 40);
    CHECK(m->get_qty(tag::leaves_qty) == 60);
    CHECK(side_from(*m->get(tag::side)) == schema::side::sell);
    CHECK_FALSE(m->poss_dup());
    CHECK_FALSE(m->get(tag::text).has_value());
}

TEST_CASE("fix wire: prices go out as plain decimals without trailing zeros") {
    body b;
    b.add_price(44, 18950000000).add_price(45, 1200000000).add_price(46, 1);
    CHECK(b.str() ==
          "44=189.5\x01"
          "45=12\x01"
          "46=0.00000001\x01");
}

TEST_CASE("fix wire: a fractional or signed quantity and a malformed price read as absent") {
    const auto m =
        parse(framed("35=8\x01"
                     "32=1.5\x01"
                     "14=-3\x01"
                     "31=1e3\x01"
                     "151=7\x01"));
    REQUIRE(m);
    CHECK_FALSE(m->get_qty(32).has_value());
    CHECK_FALSE(m->get_qty(14).has_value());
    CHECK_FALSE(m->get_price(31).has_value());
    CHECK(m->get_qty(151) == 7);
}

TEST_CASE("fix wire: every framing error is refused with a reason") {
    const std::string good = framed(
        "35=0\x01"
        "112=x\x01");
    REQUIRE(parse(good));
    CHECK(error_of("") == "expected 8=, 9=, 35= first and 10= last");
    CHECK(error_of(good.substr(0, good.size() - 1)).find("not ended by SOH") != std::string::npos);
    std::string bad_sum = good;
    bad_sum[bad_sum.size() - 2] = bad_sum[bad_sum.size() - 2] == '0' ? '1' : '0';
    CHECK(error_of(bad_sum).starts_with("CheckSum"));
    std::string bad_len = good;
    bad_len.replace(bad_len.find("9=") + 2, 1, "9");
    CHECK(error_of(bad_len).find("BodyLength") != std::string::npos);
    CHECK(error_of(framed("35=0\x01"
                          "x=1\x01"))
              .starts_with("bad tag"));
    CHECK(error_of(framed("35=0\x01"
                          "0=1\x01"))
              .starts_with("bad tag"));
    CHECK(error_of(framed("35=0\x01"
                          "58=\x01")) == "tag 58 has an empty value");
    CHECK(error_of(framed("35=0\x01"
                          "58\x01"))
              .find("no '='") != std::string::npos);
    CHECK(error_of(framed("58=x\x01"
                          "35=0\x01")) == "expected 8=, 9=, 35= first and 10= last");
    CHECK(error_of(std::string(max_message_bytes + 1, 'x')).find("bytes") != std::string::npos);
    std::string many;
    for (std::size_t i = 0; i < max_fields; ++i) many += "58=x\x01";
    CHECK(error_of(framed("35=0\x01" + many)).starts_with("more than"));
}

TEST_CASE("fix wire: repeating groups keep their entries and refuse a wrong count") {
    const std::string entries =
        "269=0\x01"
        "270=189.5\x01"
        "271=300\x01"
        "269=1\x01"
        "270=189.52\x01"
        "271=200\x01";
    const auto m =
        parse(framed("35=W\x01"
                     "55=AAPL\x01"
                     "268=2\x01" +
                     entries));
    REQUIRE(m);
    const auto g = m->group(tag::no_md_entries, tag::md_entry_type,
                            {tag::md_entry_px, tag::md_entry_size}, 100);
    REQUIRE(g);
    REQUIRE(g->size() == 2);
    CHECK(m->get((*g)[0], tag::md_entry_type) == "0");
    CHECK(m->get((*g)[1], tag::md_entry_px) == "189.52");
    CHECK(m->get((*g)[1], tag::md_entry_size) == "200");
    const auto three =
        parse(framed("35=W\x01"
                     "268=3\x01" +
                     entries));
    REQUIRE(three);
    CHECK_FALSE(three->group(268, 269, {270, 271}, 100).has_value());
    const auto one =
        parse(framed("35=W\x01"
                     "268=1\x01" +
                     entries));
    REQUIRE(one);
    CHECK_FALSE(one->group(268, 269, {270, 271}, 100).has_value());
    CHECK_FALSE(m->group(268, 269, {270, 271}, 1).has_value());  // over the caller's bound
}

TEST_CASE("fix wire: UTC timestamps round-trip and bad ones are refused") {
    const std::int64_t ts = 1'700'000'000'123'000'000;
    CHECK(utc_timestamp(ts) == "20231114-22:13:20.123");
    CHECK(parse_utc_timestamp("20231114-22:13:20.123") == ts);
    CHECK(parse_utc_timestamp("20231114-22:13:20") == 1'700'000'000'000'000'000);
    CHECK(parse_utc_timestamp("20231114-22:13:20.123456789") == 1'700'000'000'123'456'789);
    CHECK_FALSE(parse_utc_timestamp("20231131-22:13:20").has_value());
    CHECK_FALSE(parse_utc_timestamp("2023111-22:13:20").has_value());
    CHECK_FALSE(parse_utc_timestamp("20231114-25:13:20").has_value());
    CHECK_FALSE(parse_utc_timestamp("20231114-22:13:20.").has_value());
    // Found by fuzz_fix_message: a year before the epoch overflowed the ns arithmetic.
    CHECK_FALSE(parse_utc_timestamp("02261206-09:00:54.543").has_value());
    CHECK_FALSE(parse_utc_timestamp("99991231-23:59:59").has_value());
}

TEST_CASE("fix wire: enum codes map both ways and unknown codes are refused") {
    for (auto s : {schema::side::buy, schema::side::sell}) {
        CHECK(side_from(std::string(1, side_code(s))) == s);
    }
    for (auto t : {schema::order_type::market, schema::order_type::limit}) {
        CHECK(ord_type_from(std::string(1, ord_type_code(t))) == t);
    }
    for (auto t : {schema::time_in_force::day, schema::time_in_force::gtc,
                   schema::time_in_force::ioc, schema::time_in_force::fok}) {
        CHECK(tif_from(std::string(1, tif_code(t))) == t);
    }
    CHECK_FALSE(side_from("5").has_value());
    CHECK_FALSE(tif_from("6").has_value());
    CHECK(safe_value("a\x01"
                     "b\n") == "a?b?");
    CHECK(printable("8=FIX.4.4\x01"
                    "35=0\x01") == "8=FIX.4.4|35=0|");
}
