#include "tradebus/runtime/clock.hpp"

#include "tradebus/common/process.hpp"

namespace tradebus::runtime {

namespace {
class machine_clock final : public clock {
  public:
    std::int64_t now_ns() override { return common::now_ns(); }
    std::int64_t mono_ms() override { return common::mono_ms(); }
};
}  // namespace

clock& system_clock() noexcept {
    static machine_clock c;
    return c;
}

}  // namespace tradebus::runtime
