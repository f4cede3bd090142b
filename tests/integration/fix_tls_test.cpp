// FIX over TLS (QuickFIX's OpenSSL initiator and acceptor, [*.fix] tls = true): a session logs on
// and carries a message only when the client trusts the venue's certificate; a plaintext client
// never logs on to a TLS venue. Both ends are fix::engine in this process; the certificates are
// made for the test with the openssl command. Each deadline is a hang guard.
#include <doctest/doctest.h>
#include <poll.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "net.hpp"
#include "temp_dir.hpp"
#include "tradebus/fix/config.hpp"
#include "tradebus/fix/engine.hpp"
#include "tradebus/fix/wire.hpp"

using namespace tradebus;
using namespace tradebus::test;
using namespace std::chrono_literals;

namespace {

// A CA and a server certificate it signed for 127.0.0.1, in `dir`.
void make_certificates(const temp_dir& dir) {
    const std::string d = dir.path().string();
    const std::string cmd =
        "cd '" + d +
        "' && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=test CA' "
        "-keyout ca.key -out ca.pem >openssl.log 2>&1 && openssl req -newkey rsa:2048 -nodes "
        "-subj '/CN=127.0.0.1' -keyout venue.key -out venue.csr >>openssl.log 2>&1 && "
        "printf 'subjectAltName=IP:127.0.0.1\\n' >san.ext && openssl x509 -req -in venue.csr "
        "-CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext -out venue.pem "
        ">>openssl.log 2>&1";
    REQUIRE_MESSAGE(std::system(cmd.c_str()) == 0, "openssl failed, see " << d << "/openssl.log");
}

fix::session_settings side(const temp_dir& dir, bool acceptor, int port, const std::string& store) {
    fix::session_settings s;
    s.acceptor = acceptor;
    s.sender_comp_id = acceptor ? "VENUE" : "TRADEBUS";
    s.target_comp_id = acceptor ? "TRADEBUS" : "VENUE";
    s.port = port;
    s.heartbeat_s = 5;
    s.reconnect_s = 1;
    s.store_dir = dir.file(store).string();
    s.data_dictionary = fix::default_dictionary();
    return s;
}

// Pumps both engines until `done` or 10 s; returns the application messages `to` received.
std::vector<std::string> pump(fix::engine& a, fix::engine& b, bool& logged_on,
                              std::chrono::milliseconds guard) {
    std::vector<std::string> received;
    const auto end = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < end) {
        pollfd p[2] = {{a.event_fd(), POLLIN, 0}, {b.event_fd(), POLLIN, 0}};
        (void)::poll(p, 2, 50);
        for (auto* e : {&a, &b}) {
            for (auto& ev : e->drain()) {
                if (ev.kind == fix::event::logon && e == &b) logged_on = true;
                if (ev.kind == fix::event::app_message) received.push_back(ev.raw);
            }
        }
        if (logged_on && !received.empty()) break;
    }
    return received;
}

}  // namespace

// QuickFIX's SSL initiator and acceptor leave a few OpenSSL objects (about 1.6 KB, once per
// engine, allocated in libcrypto) unfreed at exit. LeakSanitizer, in the sanitizer run of
// this binary, reads its default suppressions here; tradebus code does not use libcrypto.
extern "C" const char* __lsan_default_suppressions() { return "leak:libcrypto.so\n"; }

TEST_CASE("fix tls: a client that trusts the venue's certificate logs on over TLS") {
    temp_dir dir;
    make_certificates(dir);
    const int port = free_tcp_port();
    auto venue = side(dir, true, port, "venue-store");
    venue.tls = true;
    venue.tls_cert_file = dir.file("venue.pem").string();
    venue.tls_key_file = dir.file("venue.key").string();
    auto client = side(dir, false, port, "client-store");
    client.tls = true;
    client.tls_ca_file = dir.file("ca.pem").string();
    fix::engine v(venue), c(client);
    v.start();
    c.start();
    bool logged_on = false;
    (void)pump(v, c, logged_on, 10s);
    REQUIRE(logged_on);
    std::string error;
    fix::body b;
    b.add(fix::tag::cl_ord_id, "o-1").add(fix::tag::symbol, "AAPL").add(fix::tag::side, "1");
    REQUIRE_MESSAGE(c.send("", "H", b.str(), error), error);
    const auto got = pump(v, c, logged_on, 10s);
    REQUIRE(got.size() == 1);
    CHECK(got[0].find("\x01"
                      "11=o-1\x01") != std::string::npos);
    c.stop();
    v.stop();
}

TEST_CASE("fix tls: a plaintext client never logs on to a TLS venue") {
    temp_dir dir;
    make_certificates(dir);
    const int port = free_tcp_port();
    auto venue = side(dir, true, port, "venue-store");
    venue.tls = true;
    venue.tls_cert_file = dir.file("venue.pem").string();
    venue.tls_key_file = dir.file("venue.key").string();
    fix::engine v(venue), c(side(dir, false, port, "client-store"));
    v.start();
    c.start();
    bool logged_on = false;
    (void)pump(v, c, logged_on, 4s);
    CHECK_FALSE(logged_on);
    c.stop();
    v.stop();
}
