// tradebus-bench-proxy: the baseline the broker is measured against. A bare libzmq
// zmq_proxy(XSUB, XPUB) on the given endpoints: no validation, no counters, no control plane,
// nothing but libzmq's own forwarding. SIGTERM/SIGINT stop it cleanly: a signal thread
// (the only thread with the signals unblocked, via sigwait) shuts the context down, which makes
// zmq_proxy return ETERM. Exit codes: 0 clean stop, 1 runtime error, 2 usage error.
//
// With --relay-from/--relay-to it is one raw hop of the pipeline benchmark's baseline instead:
// a SUB connected to --xpub (subscribed to the from-topic) and a PUB connected to --xsub that
// republishes every message's body, untouched, under the to-topic. A chain of these through
// one bare proxy has the same ZeroMQ hops as marketdata -> strategy -> risk -> execution
// through the broker, with none of the nodes' work (bench/README.md, "pipeline").
#include <pthread.h>
#include <zmq.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

namespace {

void fail(const char* what) {
    std::fprintf(stderr, "tradebus-bench-proxy: %s: %s\n", what, zmq_strerror(zmq_errno()));
}

// Relay mode: every message's first frame is replaced by `to`, the other frames pass untouched.
// Returns 0 when the context is shut down (a stop signal), 1 on another error.
int run_relay(void* sub, void* pub, const std::string& to) {
    zmq_msg_t frame;
    zmq_msg_init(&frame);
    int code = 0;
    for (;;) {
        if (zmq_msg_recv(&frame, sub, 0) < 0) {
            if (zmq_errno() == EINTR) continue;
            if (zmq_errno() != ETERM) {
                fail("relay recv");
                code = 1;
            }
            break;
        }
        bool more = zmq_msg_more(&frame) != 0;
        if (zmq_send(pub, to.data(), to.size(), more ? ZMQ_SNDMORE : 0) < 0) break;
        while (more) {
            if (zmq_msg_recv(&frame, sub, 0) < 0) break;
            more = zmq_msg_more(&frame) != 0;
            if (zmq_msg_send(&frame, pub, more ? ZMQ_SNDMORE : 0) < 0) break;
        }
    }
    zmq_msg_close(&frame);
    return code;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"tradebus-bench-proxy: bare zmq_proxy(XSUB, XPUB), the broker's baseline"};
    std::string xsub_ep, xpub_ep;
    int sndhwm = 1000;  // libzmq's defaults unless told otherwise
    int rcvhwm = 1000;
    app.add_option("--xsub", xsub_ep, "endpoint publishers connect to (XSUB binds here)")
        ->required();
    app.add_option("--xpub", xpub_ep, "endpoint subscribers connect to (XPUB binds here)")
        ->required();
    app.add_option("--sndhwm", sndhwm, "XPUB ZMQ_SNDHWM, messages per subscriber")
        ->check(CLI::Range(0, 100'000'000));
    app.add_option("--rcvhwm", rcvhwm, "XSUB ZMQ_RCVHWM, messages per publisher")
        ->check(CLI::Range(0, 100'000'000));
    std::string relay_from, relay_to;
    auto* from_opt = app.add_option("--relay-from", relay_from,
                                    "relay mode: connect to --xpub/--xsub, subscribe to TOPIC");
    app.add_option("--relay-to", relay_to, "relay mode: republish every body under TOPIC")
        ->needs(from_opt);
    from_opt->needs(app.get_option("--relay-to"));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        std::fprintf(stderr, "tradebus-bench-proxy: %s (see --help)\n", e.what());
        return 2;
    }

    // Block the stop signals before any thread exists: libzmq's I/O threads and the signal
    // thread inherit the mask, so only sigwait() ever sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const bool relay = !relay_from.empty();
    void* ctx = zmq_ctx_new();
    // Proxy: XSUB and XPUB bound. Relay: "xsub" is its SUB on the proxy's XPUB, "xpub" its
    // PUB on the proxy's XSUB.
    void* xsub = zmq_socket(ctx, relay ? ZMQ_SUB : ZMQ_XSUB);
    void* xpub = zmq_socket(ctx, relay ? ZMQ_PUB : ZMQ_XPUB);
    const int linger = 0;
    zmq_setsockopt(xsub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(xpub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(xsub, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(xpub, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    int code = 0;
    if (relay) {
        zmq_setsockopt(xsub, ZMQ_SUBSCRIBE, relay_from.data(), relay_from.size());
        if (zmq_connect(xsub, xpub_ep.c_str()) != 0 || zmq_connect(xpub, xsub_ep.c_str()) != 0) {
            fail("cannot connect");
            code = 1;
        }
    } else if (zmq_bind(xsub, xsub_ep.c_str()) != 0) {
        fail(("cannot bind " + xsub_ep).c_str());
        code = 1;
    } else if (zmq_bind(xpub, xpub_ep.c_str()) != 0) {
        fail(("cannot bind " + xpub_ep).c_str());
        code = 1;
    }

    std::atomic<bool> signalled{false};
    std::thread signals([&] {
        int sig = 0;
        sigwait(&stop_signals, &sig);
        signalled.store(true);
        zmq_ctx_shutdown(ctx);  // thread-safe: the blocked zmq_proxy returns ETERM
    });
    if (code == 0 && relay) {
        std::fprintf(stderr, "ready: tradebus-bench-proxy relay %s -> %s\n", relay_from.c_str(),
                     relay_to.c_str());
        code = run_relay(xsub, xpub, relay_to);
    } else if (code == 0) {
        std::fprintf(stderr, "ready: tradebus-bench-proxy xsub %s xpub %s sndhwm %d rcvhwm %d\n",
                     xsub_ep.c_str(), xpub_ep.c_str(), sndhwm, rcvhwm);
        if (zmq_proxy(xsub, xpub, nullptr) != 0 && zmq_errno() != ETERM) {
            fail("zmq_proxy");
            code = 1;
        }
    }
    // Wake the signal thread when zmq_proxy ended for another reason (a bind error).
    if (!signalled.load()) pthread_kill(signals.native_handle(), SIGTERM);
    signals.join();
    zmq_close(xsub);
    zmq_close(xpub);
    zmq_ctx_term(ctx);
    if (code == 0) std::fprintf(stderr, "tradebus-bench-proxy: stopped\n");
    return code;
}
