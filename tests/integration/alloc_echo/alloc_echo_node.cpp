// tradebus-test-alloc-echo: a node for runtime_alloc_test.cpp that counts the heap allocations
// (operator new) made on its loop thread while the node runtime receives messages and
// publishes. It answers each md.tick.<SYM> with a signal on strategy.signal.<SYM>; after
// `warmup` ticks it starts counting, after `window` more it logs
//   "allocations: <n> operator new calls on the loop thread over <window> ticks received and
//   <window> signals published"
// and stops counting. Only the loop thread is counted (libzmq's I/O thread is not the
// runtime's path).
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <variant>
#include <vector>

#include "tradebus/runtime/node.hpp"
#include "tradebus/schema/topics.hpp"

namespace {

thread_local bool counting = false;
thread_local std::uint64_t allocations = 0;

void* counted_new(std::size_t n) {
    if (counting) ++allocations;
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}

}  // namespace

// Every form whose memory the replaced deletes free (libzmq allocates with new (std::nothrow));
// the aligned forms stay the library's, new and delete alike.
void* operator new(std::size_t n) { return counted_new(n); }
void* operator new[](std::size_t n) { return counted_new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    if (counting) ++allocations;
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace {

namespace schema = tradebus::schema;
namespace topics = tradebus::schema::topics;

class alloc_echo final : public tradebus::runtime::node_logic {
  public:
    alloc_echo(std::uint64_t warmup, std::uint64_t window) : warmup_(warmup), window_(window) {}
    std::vector<std::string> subscriptions() const override {
        return {std::string(topics::md_tick)};
    }
    std::vector<std::string> publications() const override { return {std::string(topics::signal)}; }

    void on_event(tradebus::runtime::context& ctx, const tradebus::runtime::inbound& in) override {
        const auto* t = std::get_if<schema::tick>(&in.ev.body);
        if (t == nullptr) return;
        ++ticks_;
        if (ticks_ == warmup_ + 1) {
            allocations = 0;
            counting = true;
        }
        if (topic_.empty()) topic_ = topics::for_symbol(topics::signal, t->symbol);
        signal_.signal_id = ticks_;
        signal_.symbol = t->symbol;
        signal_.ref_px = t->bid_px;
        ctx.publish(topic_, signal_, in.ev.env.trace_id);
        if (ticks_ == warmup_ + window_) {
            counting = false;
            spdlog::info(
                "allocations: {} operator new calls on the loop thread over {} ticks received "
                "and {} signals published",
                allocations, window_, window_);
        }
    }

  private:
    std::uint64_t warmup_, window_;
    std::uint64_t ticks_ = 0;
    std::string topic_;
    schema::signal signal_{0, "", schema::side::buy, 1, 0.5, 0, "echo"};
};

std::unique_ptr<tradebus::runtime::node_logic> make(tradebus::common::section& own) {
    const auto warmup = own.integer("warmup", 1000, 1, 1'000'000);
    const auto window = own.integer("window", 10'000, 1, 10'000'000);
    return std::make_unique<alloc_echo>(static_cast<std::uint64_t>(warmup),
                                        static_cast<std::uint64_t>(window));
}

}  // namespace

int main(int argc, char** argv) {
    return tradebus::runtime::run_node(argc, argv, "allocecho", &make);
}
