// Indicators against values computed by hand; each expected value shows its arithmetic.
#include <doctest/doctest.h>

#include <initializer_list>

#include "tradebus/strategy/atr.hpp"
#include "tradebus/strategy/ema.hpp"
#include "tradebus/strategy/rsi.hpp"

using tradebus::strategy::atr;
using tradebus::strategy::ema;
using tradebus::strategy::rsi;

TEST_CASE("indicators: EMA seeds with the simple average, then smooths with 2/(n+1)") {
    ema e(3);  // alpha = 2 / (3 + 1) = 0.5
    CHECK(e.alpha() == doctest::Approx(0.5));
    CHECK(e.update(10.0) == doctest::Approx(10.0));  // running mean 10 / 1
    CHECK_FALSE(e.ready());
    CHECK(e.update(11.0) == doctest::Approx(10.5));  // (10 + 11) / 2
    CHECK(e.update(12.0) == doctest::Approx(11.0));  // seed = SMA(10, 11, 12) = 33 / 3
    CHECK(e.ready());
    CHECK(e.update(13.0) == doctest::Approx(12.0));  // 11 + 0.5 * (13 - 11)
    CHECK(e.update(12.0) == doctest::Approx(12.0));  // 12 + 0.5 * (12 - 12)
    CHECK(e.update(9.0) == doctest::Approx(10.5));   // 12 + 0.5 * (9 - 12)
    CHECK(e.value() == doctest::Approx(10.5));

    ema e4(4);                                           // alpha = 2 / 5 = 0.4
    for (double x : {1.0, 2.0, 3.0, 4.0}) e4.update(x);  // seed = (1+2+3+4)/4 = 2.5
    CHECK(e4.value() == doctest::Approx(2.5));
    CHECK(e4.update(10.0) == doctest::Approx(5.5));  // 2.5 + 0.4 * (10 - 2.5) = 2.5 + 3.0
    CHECK(e4.update(0.0) == doctest::Approx(3.3));   // 5.5 + 0.4 * (0 - 5.5) = 5.5 - 2.2
}

TEST_CASE("indicators: EMA with period 1 follows the price") {
    ema e(1);  // alpha = 2 / 2 = 1
    CHECK(e.update(5.0) == doctest::Approx(5.0));
    CHECK(e.update(7.5) == doctest::Approx(7.5));
    CHECK(e.ready());
}

TEST_CASE("indicators: RSI with Wilder smoothing") {
    rsi r(3);
    CHECK(r.update(10.0) == doctest::Approx(50.0));  // no change yet: neutral
    r.update(11.0);                                  // change +1.0
    r.update(10.5);                                  // change -0.5
    CHECK_FALSE(r.ready());
    // change +1.5: avg_gain = (1.0 + 0 + 1.5) / 3 = 0.8333, avg_loss = (0 + 0.5 + 0) / 3 = 0.1667
    // RS = 0.8333 / 0.1667 = 5, RSI = 100 - 100 / (1 + 5) = 83.333
    CHECK(r.update(12.0) == doctest::Approx(83.3333).epsilon(1e-4));
    CHECK(r.ready());
    CHECK(r.avg_gain() == doctest::Approx(2.5 / 3));
    CHECK(r.avg_loss() == doctest::Approx(0.5 / 3));
    // change -1.0: avg_gain = (0.8333 * 2 + 0) / 3 = 0.5556
    //              avg_loss = (0.1667 * 2 + 1.0) / 3 = 0.4444
    // RS = 1.25, RSI = 100 - 100 / 2.25 = 55.556
    CHECK(r.update(11.0) == doctest::Approx(55.5556).epsilon(1e-4));
    CHECK(r.avg_gain() == doctest::Approx(5.0 / 9));
    CHECK(r.avg_loss() == doctest::Approx(4.0 / 9));
    // change +2.0: avg_gain = (0.5556 * 2 + 2) / 3 = 1.0370, avg_loss = (0.4444 * 2 + 0) / 3
    // = 0.2963; RS = 3.5, RSI = 100 - 100 / 4.5 = 77.778
    CHECK(r.update(13.0) == doctest::Approx(77.7778).epsilon(1e-4));
}

TEST_CASE("indicators: RSI edge cases: only gains, only losses, no movement") {
    rsi up(2);
    for (double p : {1.0, 2.0, 3.0}) up.update(p);  // gains 1, 1; losses 0
    CHECK(up.value() == doctest::Approx(100.0));
    rsi down(2);
    for (double p : {3.0, 2.0, 1.0}) down.update(p);  // avg_gain 0: RS = 0, RSI = 0
    CHECK(down.value() == doctest::Approx(0.0));
    rsi flat(2);
    for (double p : {5.0, 5.0, 5.0}) flat.update(p);  // nothing moved: neutral
    CHECK(flat.value() == doctest::Approx(50.0));
}

TEST_CASE("indicators: ATR with Wilder smoothing over bars, including a gap") {
    atr a(3);
    // Bar 1 (H 10, L 9, C 9.5): no previous close, TR = H - L = 1.0
    CHECK(a.update(10.0, 9.0, 9.5) == doctest::Approx(1.0));
    // Bar 2 (10.5, 9.8, 10.2), prev close 9.5: max(0.7, |10.5-9.5| = 1.0, |9.8-9.5| = 0.3) = 1.0
    CHECK(a.update(10.5, 9.8, 10.2) == doctest::Approx(1.0));  // mean so far (1 + 1) / 2
    // Bar 3 (10.4, 9.6, 9.7), prev close 10.2: max(0.8, 0.2, 0.6) = 0.8
    // ATR seed = (1.0 + 1.0 + 0.8) / 3 = 0.93333
    CHECK(a.update(10.4, 9.6, 9.7) == doctest::Approx(0.933333).epsilon(1e-5));
    CHECK(a.ready());
    // Bar 4 (9.9, 9.0, 9.2), prev close 9.7: max(0.9, 0.2, 0.7) = 0.9
    // ATR = (0.93333 * 2 + 0.9) / 3 = 2.76667 / 3 = 0.92222
    CHECK(a.update(9.9, 9.0, 9.2) == doctest::Approx(0.922222).epsilon(1e-5));
    // Bar 5 gaps up (11, 10.5, 10.8), prev close 9.2: max(0.5, 1.8, 1.3) = 1.8
    // ATR = (0.92222 * 2 + 1.8) / 3 = 3.64444 / 3 = 1.21481
    CHECK(a.update(11.0, 10.5, 10.8) == doctest::Approx(1.214815).epsilon(1e-5));
}

TEST_CASE("indicators: ATR from tick prices is the smoothed absolute change") {
    atr a(2);
    CHECK(a.update(100.0) == doctest::Approx(0.0));  // first tick: H - L = 0
    CHECK_FALSE(a.ready());
    CHECK(a.update(101.0) == doctest::Approx(0.5));  // TR |101 - 100| = 1; seed (0 + 1) / 2
    CHECK(a.ready());
    CHECK(a.update(99.0) == doctest::Approx(1.25));  // TR 2; (0.5 * 1 + 2) / 2 = 1.25
}
