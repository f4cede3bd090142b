// libFuzzer target: FIX tag=value text as the execution node's FIX venue and the market data
// source read what the venue sends (fix/wire.hpp): message::parse, then every accessor the
// adapter uses (typed values, PossDupFlag, the market data group). Properties: nothing
// crashes, every field lies inside the text, a parsed message has 8/9/35 first and 10 last,
// a group never has more entries than its bound. tests/fuzz/run.sh runs it.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tradebus/fix/wire.hpp"

namespace {

void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "tradebus fuzz: %s\n", what);
    std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace tradebus::fix;
    std::string error;
    auto m = message::parse(std::string(reinterpret_cast<const char*>(data), size), error);
    if (!m) {
        require(!error.empty(), "refused without a reason");
        return 0;
    }
    const auto& f = m->fields();
    require(f.size() >= 4 && f[0].tag == tag::begin_string && f[1].tag == tag::body_length &&
                f[2].tag == tag::msg_type && f.back().tag == tag::checksum,
            "framing fields out of place");
    for (const auto& x : f) {
        require(x.length > 0 && std::size_t{x.offset} + x.length <= m->text().size(),
                "a field outside the text");
    }
    (void)m->type();
    (void)m->poss_dup();
    for (int t : {tag::cum_qty, tag::last_qty, tag::leaves_qty, tag::order_qty}) {
        if (const auto q = m->get_qty(t)) require(*q >= 0, "negative quantity");
    }
    for (int t : {tag::last_px, tag::price, tag::avg_px}) {
        if (const auto p = m->get_price(t)) require(*p >= 0, "negative price");
    }
    if (const auto ts = m->get(tag::sending_time)) (void)parse_utc_timestamp(*ts);
    if (const auto g = m->group(
            tag::no_md_entries, tag::md_entry_type,
            {tag::md_entry_px, tag::md_entry_size, tag::md_update_action, tag::symbol}, 64)) {
        require(g->size() <= 64, "group over its bound");
        for (const auto& e : *g) (void)m->get(e, tag::md_entry_px);
    }
    (void)printable(m->text());
    return 0;
}
