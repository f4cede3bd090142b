// libFuzzer target: decode_control on arbitrary bytes (one control-plane frame). See
// round_trip.hpp for the property checked; tests/fuzz/run.sh runs it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "round_trip.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tradebus::schema;
    return tradebus::fuzz::check_round_trip(
        data, size, [](std::string_view bytes) { return decode_control(bytes); },
        [](const control_message& msg, std::string& out) { encode_control(msg, out); });
}
