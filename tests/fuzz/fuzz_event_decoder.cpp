// libFuzzer target: decode_event on arbitrary bytes (a data-plane body frame). See
// round_trip.hpp for the property checked; tests/fuzz/run.sh runs it. Also: the decoder's
// one-pass fast path and its checked path (codec_paths.hpp) give the same answer, and decoding
// into a kept event (as the node runtime does, across inputs) gives what a fresh decode gives.
#include <cstddef>
#include <cstdint>
#include <string>

#include "codec_paths.hpp"
#include "round_trip.hpp"

namespace {

std::string encoded(const tradebus::schema::event& ev) {
    std::string out;
    tradebus::schema::encode_event(ev, out);
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tradebus::schema;
    using tradebus::fuzz::fail;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto fresh = decode_event(input);
    const auto checked = detail::decode_event_checked(input);
    if (fresh.ok() != checked.ok()) {
        fail("fast and checked paths disagree",
             fresh.ok() ? checked.error().to_string() : fresh.error().to_string());
    }
    if (fresh.ok() && encoded(fresh.value()) != encoded(checked.value())) {
        fail("fast and checked paths decode different values", "");
    }
    if (!fresh.ok() && fresh.error().to_string() != checked.error().to_string()) {
        fail("fast and checked paths give different errors", fresh.error().to_string());
    }
    static event kept;  // what the previous inputs left in it
    const auto error = decode_event(input, kept);
    if (error.has_value() == fresh.ok()) fail("decoding into a kept event disagrees", "");
    if (!error && encoded(kept) != encoded(fresh.value())) {
        fail("decoding into a kept event gives other values", "");
    }
    return tradebus::fuzz::check_round_trip(
        data, size, [](std::string_view bytes) { return decode_event(bytes); },
        [](const event& ev, std::string& out) { encode_event(ev, out); });
}
