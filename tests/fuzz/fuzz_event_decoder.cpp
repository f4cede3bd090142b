// libFuzzer target: decode_event on arbitrary bytes (a data-plane body frame). See
// round_trip.hpp for the property checked; tests/fuzz/run.sh runs it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "round_trip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tradebus::schema;
    return tradebus::fuzz::check_round_trip(
        data, size, [](std::string_view bytes) { return decode_event(bytes); },
        [](const event& ev, std::string& out) { encode_event(ev, out); });
}
