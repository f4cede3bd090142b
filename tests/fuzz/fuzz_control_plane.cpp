// libFuzzer target: the broker's control plane (a real control_plane with a configured
// pipeline) fed a sequence of request frames and clock steps. Input: records of
// [op u8][length u16 LE][length bytes]; op % 4 == 3 advances the clock by length x 10 ms and
// runs the liveness timers, any other op hands the bytes to handle_frame() as one request.
// Property: no crash, every request gets exactly one reply that decodes as a control message
// within the codec's size limit, and every event the broker publishes meanwhile encodes to
// bytes that decode again. Seeds: tradebus_fuzz_seeds (framed samples of every control message).
#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tradebus/broker/config.hpp"
#include "tradebus/broker/control_plane.hpp"
#include "tradebus/broker/data_stats.hpp"
#include "tradebus/schema/codec.hpp"

namespace {

using namespace tradebus;

constexpr const char* pipeline_toml = R"(
[heartbeat]
interval_ms = 100
liveness = 3
gone_after_ms = 1000
[pipeline.journal]
depends_on = []
[pipeline.marketdata]
depends_on = ["journal"]
[pipeline.risk]
depends_on = ["journal", "marketdata"]
)";

[[noreturn]] void violated(const char* what) {
    std::fprintf(stderr, "tradebus fuzz: property violated: %s\n", what);
    std::abort();
}

// The broker's own events: encoded as the broker would publish them, and decoded back.
class checking_sink final : public broker::event_sink {
  public:
    void publish(std::string_view /*topic*/, const schema::payload& body) override {
        schema::encode_event(schema::event{schema::envelope{"broker", ++seq_, 1, 0}, body}, buf_);
        if (!schema::decode_event(buf_)) violated("a published sys.* event does not decode");
    }

  private:
    std::uint64_t seq_ = 0;
    std::string buf_;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    spdlog::set_level(spdlog::level::off);  // refused requests log; the fuzzer needs speed
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const broker::broker_config cfg = broker::parse_config(pipeline_toml, "fuzz.toml");
    checking_sink sink;
    broker::data_stats stats(16);
    broker::control_plane plane(cfg, 0x5eed, sink, stats, 0);
    plane.set_advertised("tcp://127.0.0.1:5550", "tcp://127.0.0.1:5551");
    std::int64_t now = 0;
    std::string reply;
    std::size_t at = 0;
    while (at + 3 <= size) {
        const std::uint8_t op = data[at];
        const std::size_t len = data[at + 1] | (static_cast<std::size_t>(data[at + 2]) << 8);
        at += 3;
        const std::size_t n = len < size - at ? len : size - at;
        if (op % 4 == 3) {
            now += static_cast<std::int64_t>(len) * 10;
            plane.run_timers(now);
            continue;
        }
        const std::string_view frame(reinterpret_cast<const char*>(data + at), n);
        at += n;
        plane.handle_frame(frame, now, reply);
        if (reply.empty()) violated("a request got no reply");
        if (reply.size() > schema::limits::max_message_bytes) violated("a reply is oversized");
        if (!schema::decode_control(reply)) violated("a reply does not decode");
    }
    return 0;
}
