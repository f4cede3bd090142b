// A test's own average-cost book per symbol, replayed from fills: what risk's position updates
// and `tradebus journal report` must agree with. A fill on the side of the position adds to it
// at a new average price; one against it realizes (price - average) x closed qty for a long
// (the reverse for a short); one larger than the position opens the other side at its price.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tradebus/schema/events.hpp"

namespace tradebus::test {

struct fill_book {
    std::uint64_t fills = 0;
    std::int64_t volume = 0;  // lots, both sides
    double qty = 0, avg = 0, realized = 0;

    void add(const schema::fill& f) {
        ++fills;
        volume += f.qty;
        const double q = static_cast<double>(f.dir == schema::side::buy ? f.qty : -f.qty);
        const double px = schema::from_fixed(f.px);
        if (qty == 0 || (qty > 0) == (q > 0)) {
            avg = (std::abs(qty) * avg + std::abs(q) * px) / (std::abs(qty) + std::abs(q));
            qty += q;
            return;
        }
        const double closed = std::min(std::abs(qty), std::abs(q));
        realized += closed * (qty > 0 ? px - avg : avg - px);
        qty += q;
        if (qty == 0) {
            avg = 0;
        } else if ((qty > 0) == (q > 0)) {
            avg = px;
        }
    }
};

}  // namespace tradebus::test
