#include "tradebus/schema/codec.hpp"

#include <doctest/doctest.h>

using namespace tradebus::schema;

TEST_CASE("codec: tick round trip") {
    envelope env{"md1", 42, 1'700'000'000'000'000'000, 0xdeadbeef};
    tick t{"AAPL", to_fixed(189.5), 100, to_fixed(189.52), 200, 0, 0, 123};
    std::string buf;
    encode_event(env, t, buf);
    auto r = decode_event(buf);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().to_string()));
    CHECK(r->env.src == "md1");
    CHECK(r->env.seq == 42);
    const auto& got = std::get<tick>(r->body);
    CHECK(got.symbol == "AAPL");
    CHECK(got.ask_px == to_fixed(189.52));
}
