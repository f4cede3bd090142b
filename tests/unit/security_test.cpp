// CURVE security without sockets: key files (`tradebus keygen`, permissions, bad contents),
// the broker's [security] table (every error as file:line:col: key: expected ...), the
// nodes' [security] table, topic ACL matching, and the control plane's authorization rules.
#include <doctest/doctest.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "scratch_dir.hpp"
#include "tradebus/broker/authorization.hpp"
#include "tradebus/broker/config.hpp"
#include "tradebus/broker/control_plane.hpp"
#include "tradebus/cli/app.hpp"
#include "tradebus/common/config.hpp"
#include "tradebus/common/curve.hpp"
#include "tradebus/schema/codec.hpp"

using namespace tradebus;
namespace code = schema::error_code;

namespace {

unsigned mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return static_cast<unsigned>(st.st_mode & 07777);
}

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct keygen_run {
    int code;
    std::string out, err;
};

keygen_run keygen(const std::vector<std::string>& args) {
    std::ostringstream out, err;
    zmq::context_t ctx;
    cli::environment env{out, err, ctx, false};
    std::vector<std::string> argv{"tradebus", "keygen"};
    argv.insert(argv.end(), args.begin(), args.end());
    const int code = cli::run(argv, env);
    return {code, out.str(), err.str()};
}

std::string key_error_of(const std::string& path) {
    try {
        (void)common::load_key_file(path);
    } catch (const common::key_error& e) {
        return e.what();
    }
    return {};
}

void write_mode(const std::string& path, const std::string& text, mode_t mode) {
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
}

std::string config_errors_of(const std::string& toml) {
    try {
        (void)broker::parse_config(toml, "broker.toml");
    } catch (const common::config_error& e) {
        return e.what();
    }
    return {};
}

}  // namespace

TEST_CASE("keygen: writes NAME.key mode 0600 and NAME.pub 0644 and prints only the public key") {
    scratch_dir dir("keygen");
    const std::string keys = dir.file("keys");  // created by keygen
    const auto r = keygen({"risk", "--dir", keys});
    REQUIRE_MESSAGE(r.code == 0, r.err);
    CHECK(mode_of(keys + "/risk.key") == 0600);
    CHECK(mode_of(keys + "/risk.pub") == 0644);
    CHECK(mode_of(keys) == 0700);
    const auto pair = common::load_key_file(keys + "/risk.key");
    CHECK(r.out == pair.public_key + "\n");
    CHECK(common::load_public_key_file(keys + "/risk.pub") == pair.public_key);
    // The secret is in the .key file only: not printed, not in the .pub file.
    CHECK(slurp(keys + "/risk.key").find(pair.secret_key) != std::string::npos);
    CHECK(r.out.find(pair.secret_key) == std::string::npos);
    CHECK(r.err.find(pair.secret_key) == std::string::npos);
    CHECK(slurp(keys + "/risk.pub").find(pair.secret_key) == std::string::npos);
    CHECK_FALSE(common::z85_key_error(pair.public_key).has_value());
}

TEST_CASE("keygen: refuses to overwrite an existing key unless --force") {
    scratch_dir dir("keygen");
    REQUIRE(keygen({"ops", "--dir", dir.path().string()}).code == 0);
    const std::string before = slurp(dir.file("ops.key"));
    const auto again = keygen({"ops", "--dir", dir.path().string()});
    CHECK(again.code == 1);
    CHECK(again.err.find("ops.key: already exists") != std::string::npos);
    CHECK(again.err.find("--force") != std::string::npos);
    CHECK(slurp(dir.file("ops.key")) == before);
    const auto forced = keygen({"ops", "--dir", dir.path().string(), "--force"});
    CHECK(forced.code == 0);
    CHECK(slurp(dir.file("ops.key")) != before);
    CHECK(mode_of(dir.file("ops.key")) == 0600);
}

TEST_CASE("keygen: a name that is not a node name is a usage error") {
    scratch_dir dir("keygen");
    const auto r = keygen({"../evil", "--dir", dir.path().string()});
    CHECK(r.code == 2);
    CHECK(r.err.find("NAME: expected 1..64 bytes of [a-z0-9_-]") != std::string::npos);
}

TEST_CASE("key files: a secret key that group or others may read is refused, like ssh") {
    scratch_dir dir("keyfile");
    const auto pair = common::generate_key_pair();
    (void)common::write_key_files(dir.path().string(), "risk", pair, false);
    const std::string path = dir.file("risk.key");
    for (const mode_t loose : {0640u, 0604u, 0660u, 0644u, 0610u}) {
        REQUIRE(::chmod(path.c_str(), loose) == 0);
        const std::string e = key_error_of(path);
        INFO("mode ", loose, ": ", e);
        CHECK(e.find(path + ": permissions 0") != std::string::npos);
        CHECK(e.find("are too open") != std::string::npos);
        CHECK(e.find("chmod 600 " + path) != std::string::npos);
        CHECK(e.find(pair.secret_key) == std::string::npos);
    }
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(key_error_of(path).empty());
}

TEST_CASE("key files: bad contents are refused with the file and key, never the secret") {
    scratch_dir dir("keyfile");
    const auto pair = common::generate_key_pair();
    const auto other = common::generate_key_pair();
    struct row {
        std::string text, expected;
    };
    const std::vector<row> rows{
        {"public_key = \"" + pair.public_key + "\"\n", "secret_key: missing"},
        {"secret_key = 42\n", "secret_key: expected a Z85 key string"},
        {"secret_key = \"" + pair.secret_key.substr(1) + "\"\n",
         "secret_key: expected a 40-character Z85 key (value not shown)"},
        {"secret_key = \"" + pair.secret_key + "\"\npublic_key = \"" + other.public_key + "\"\n",
         "public_key: does not belong to secret_key (expected " + pair.public_key + ")"},
        {"secret_key = \"" + pair.secret_key + "\n", "not a key file"},
        {"secret_key = \" " + pair.secret_key.substr(1) + "\"\n",
         "secret_key: expected a 40-character Z85 key (value not shown)"},
    };
    for (const auto& r : rows) {
        const std::string path = dir.file("bad.key");
        write_mode(path, r.text, 0600);
        const std::string e = key_error_of(path);
        INFO(r.text, " -> ", e);
        CHECK(e.rfind(path, 0) == 0);
        CHECK(e.find(r.expected) != std::string::npos);
        CHECK(e.find(pair.secret_key) == std::string::npos);
        CHECK(e.find(pair.secret_key.substr(1)) == std::string::npos);
    }
    CHECK(key_error_of(dir.file("missing.key")).find("missing.key: cannot read") !=
          std::string::npos);
}

TEST_CASE("broker config: [security] with CURVE, clients, keys inline and from files") {
    scratch_dir dir("seccfg");
    const auto broker_pair = common::generate_key_pair();
    const auto risk = common::generate_key_pair();
    const auto ops = common::generate_key_pair();
    (void)common::write_key_files(dir.path().string(), "broker", broker_pair, false);
    (void)common::write_key_files(dir.path().string(), "ops", ops, false);
    const auto cfg = broker::parse_config(R"([security]
curve = true
secret_key_file = ")" + dir.file("broker.key") +
                                              R"("
[[security.client]]
name = "risk"
public_key = ")" + risk.public_key + R"("
publish = ["risk."]
[[security.client]]
name = "ops"
public_key_file = ")" + dir.file("ops.pub") + R"("
operator = true
)",
                                          "broker.toml");
    CHECK(cfg.security.curve);
    CHECK(cfg.security.public_key == broker_pair.public_key);
    CHECK(cfg.security.secret_key == broker_pair.secret_key);
    REQUIRE(cfg.security.clients.size() == 2);
    const auto* r = cfg.security.find("risk");
    REQUIRE(r != nullptr);
    CHECK(r->public_key == risk.public_key);
    CHECK(r->publish == std::vector<std::string>{"risk."});
    CHECK_FALSE(r->is_operator);
    const auto* o = cfg.security.find("ops");
    REQUIRE(o != nullptr);
    CHECK(o->public_key == ops.public_key);
    CHECK(o->publish.empty());  // deny by default
    CHECK(o->is_operator);
    CHECK(common::z85_encode_key(o->key.data()) == ops.public_key);
    // Off by default: no [security] at all is plaintext.
    CHECK_FALSE(broker::parse_config("", "broker.toml").security.curve);
}

TEST_CASE("broker config: every [security] mistake is reported with line, key and expectation") {
    scratch_dir dir("seccfg");
    const auto broker_pair = common::generate_key_pair();
    const auto risk = common::generate_key_pair();
    (void)common::write_key_files(dir.path().string(), "broker", broker_pair, false);
    const std::string head = "[security]\ncurve = true\nsecret_key_file = \"" +
                             dir.file("broker.key") + "\"\n[[security.client]]\nname = \"risk\"\n";
    const std::string key = "public_key = \"" + risk.public_key + "\"\n";
    struct row {
        std::string toml, expected;
    };
    const std::vector<row> rows{
        {"[security]\ncurve = true\n[[security.client]]\nname = \"a\"\n" + key,
         "broker.toml: security.secret_key_file: missing: expected the broker's key file"},
        {"[security]\ncurve = true\nsecret_key_file = \"" + dir.file("nope.key") + "\"\n",
         "security.secret_key_file: " + dir.file("nope.key") + ": cannot read"},
        {"[security]\ncurve = true\nsecret_key_file = \"" + dir.file("broker.key") + "\"\n",
         "security.client: expected at least one [[security.client]] when curve = true"},
        {"[security]\n[[security.client]]\nname = \"risk\"\n" + key,
         "security.curve: expected curve = true when [[security.client]] entries are listed"},
        {"[security]\ncurve = \"yes\"\n",
         "broker.toml:2:9: security.curve: expected true or false"},
        {head,
         "security.client[0].public_key: missing: expected public_key (Z85) or "
         "public_key_file"},
        {head + "public_key = \"tooshort\"\n",
         "broker.toml:6:14: security.client[0].public_key: expected a 40-character Z85 key, got 8 "
         "characters"},
        {head + key + "public_key_file = \"x.pub\"\n",
         "security.client[0].public_key_file: expected either public_key or public_key_file, "
         "not both"},
        {head + "public_key = \"" + broker_pair.public_key + "\"\n",
         "security.client[0].public_key: expected a client's key, got the broker's own public "
         "key"},
        {head + key + "publish = [\"risk. x\"]\n",
         "security.client[0].publish: expected topic prefixes, got \"risk. x\""},
        {head + key + "publish = [\"sys.\"]\n",
         "security.client[0].publish: expected prefixes outside sys."},
        {head + key + "publish = [\"\"]\n",
         "security.client[0].publish: expected topic prefixes such as \"risk.\", got \"\""},
        {head + key + "operater = true\n",
         "broker.toml:7:1: security.client[0].operater: unknown key (did you mean \"operator\"?)"},
        {head + key + "[[security.client]]\nname = \"risk\"\npublic_key = \"" +
             broker_pair.public_key.substr(0, 39) + "x\"\n",
         "security.client[1].name: expected each client name once, got \"risk\" again"},
        {head + key + "[[security.client]]\nname = \"other\"\n" + key,
         "security.client[1].public_key: expected each key once, got the key of client \"risk\" "
         "again"},
        {head + key + "[security.client2]\n", "security.client2: unknown key"},
        {"[security]\nclient = 3\n",
         "security.client: expected an array of tables ([[security.client]]), got 3"},
        {head + "name2 = 1\n" + key + "operator = 1\n",
         "security.client[0].operator: expected true or false, got 1"},
    };
    for (const auto& r : rows) {
        const std::string e = config_errors_of(r.toml);
        INFO(r.toml, "\n-> ", e);
        CHECK(e.find(r.expected) != std::string::npos);
        CHECK(e.find(broker_pair.secret_key) == std::string::npos);
    }
}

TEST_CASE("node config: [security] needs the broker's key and the node's own key file") {
    scratch_dir dir("nodesec");
    const auto broker_pair = common::generate_key_pair();
    const auto risk = common::generate_key_pair();
    (void)common::write_key_files(dir.path().string(), "broker", broker_pair, false);
    (void)common::write_key_files(dir.path().string(), "risk", risk, false);
    const auto read = [](const std::string& toml, common::config_errors& errors) {
        const toml::table t = toml::parse(std::string_view(toml), std::string("risk.toml"));
        common::section root(&t, "", errors);
        auto s = root.table("security");
        auto keys = common::read_curve_client(s);
        root.finish();
        return keys;
    };
    {
        common::config_errors errors("risk.toml");
        const auto keys = read("[security]\nbroker_public_key_file = \"" + dir.file("broker.pub") +
                                   "\"\nkey_file = \"" + dir.file("risk.key") + "\"\n",
                               errors);
        CHECK(errors.empty());
        CHECK(keys.enabled());
        CHECK(keys.server_key == broker_pair.public_key);
        CHECK(keys.public_key == risk.public_key);
        CHECK(keys.secret_key == risk.secret_key);
    }
    {
        common::config_errors errors("risk.toml");
        CHECK_FALSE(read("", errors).enabled());
        CHECK(errors.empty());
    }
    struct row {
        std::string toml, expected;
    };
    const std::vector<row> rows{
        {"[security]\nkey_file = \"" + dir.file("risk.key") + "\"\n",
         "security.broker_public_key: missing: expected broker_public_key (Z85) or "
         "broker_public_key_file"},
        {"[security]\nbroker_public_key = \"" + broker_pair.public_key + "\"\n",
         "security.key_file: missing: expected this client's key file"},
        {"[security]\nbroker_public_key = \"" + broker_pair.public_key + "\"\nkey_file = \"" +
             dir.file("broker.pub") + "\"\n",
         "security.key_file: " + dir.file("broker.pub") + ": permissions 0644 are too open"},
        {"[security]\nbroker_public_key = \"x\"\nkey_file = \"" + dir.file("risk.key") + "\"\n",
         "risk.toml:2:21: security.broker_public_key: expected a 40-character Z85 key"},
    };
    for (const auto& r : rows) {
        common::config_errors errors("risk.toml");
        const auto keys = read(r.toml, errors);
        std::string all;
        for (const auto& l : errors.lines()) all += l + "\n";
        INFO(r.toml, "\n-> ", all);
        CHECK(all.find(r.expected) != std::string::npos);
        CHECK_FALSE(keys.enabled());
    }
}

TEST_CASE("topic acl: publish prefixes, the node's own probe, nothing else") {
    broker::client_rule risk;
    risk.name = "risk";
    risk.publish = {"risk.", "exec.ack."};
    CHECK(broker::may_publish(risk, "risk.approved.AAPL"));
    CHECK(broker::may_publish(risk, "exec.ack.AAPL"));
    CHECK(broker::may_publish(risk, "sys.probe.risk"));
    CHECK_FALSE(broker::may_publish(risk, "sys.probe.risk2"));
    CHECK_FALSE(broker::may_publish(risk, "sys.probe.strategy"));
    CHECK_FALSE(broker::may_publish(risk, "exec.fill.AAPL"));
    CHECK_FALSE(broker::may_publish(risk, "risk"));
    broker::client_rule quiet;
    quiet.name = "ops";
    CHECK_FALSE(broker::may_publish(quiet, "md.tick.AAPL"));
    CHECK(broker::may_publish(quiet, "sys.probe.ops"));
}

namespace {

class null_sink : public broker::event_sink {
  public:
    void publish(std::string_view, const schema::payload&) override {}
};

struct secured_plane {
    secured_plane() {
        spdlog::set_level(spdlog::level::off);
        cfg.security.curve = true;
        cfg.security.clients.resize(2);
        cfg.security.clients[0].name = "risk";
        cfg.security.clients[0].publish = {"risk."};
        cfg.security.clients[1].name = "ops";
        cfg.security.clients[1].is_operator = true;
        cfg.heartbeat = {100, 3, 1000};
        cfg.name = "broker";
        cp.emplace(cfg, 7, sink, stats, 0);
    }
    schema::control_message call(const schema::control_message& req, std::string_view peer) {
        std::string in, out;
        schema::encode_control(req, in);
        cp->handle_frame(in, 0, out, peer);
        auto decoded = schema::decode_control(out);
        REQUIRE(decoded.ok());
        return decoded.value();
    }
    broker::broker_config cfg;
    null_sink sink;
    broker::data_stats stats{10};
    std::optional<broker::control_plane> cp;
};

schema::register_request reg(std::string name) {
    schema::register_request r;
    r.name = std::move(name);
    r.kind = "risk";
    r.host = "h";
    r.pid = 1;
    return r;
}

}  // namespace

TEST_CASE("control plane with CURVE: register only as yourself, halt and cancel only as operator") {
    secured_plane p;
    const auto foreign = p.call(reg("execution"), "risk");
    REQUIRE(std::holds_alternative<schema::error_reply>(foreign));
    CHECK(std::get<schema::error_reply>(foreign).code == code::not_allowed);
    CHECK(std::get<schema::error_reply>(foreign).reason.find(
              "register as \"execution\" refused: this client's CURVE key is \"risk\"'s") !=
          std::string::npos);
    CHECK(p.cp->nodes().find("execution") == nullptr);

    const auto own = p.call(reg("risk"), "risk");
    REQUIRE(std::holds_alternative<schema::register_reply>(own));
    const auto session = std::get<schema::register_reply>(own).session_id;
    schema::heartbeat_request hb;
    hb.name = "risk";
    hb.session_id = session;
    hb.state = schema::health::healthy;
    CHECK(std::holds_alternative<schema::error_reply>(p.call(hb, "ops")));
    CHECK(std::holds_alternative<schema::heartbeat_reply>(p.call(hb, "risk")));

    const auto halt = p.call(
        schema::halt_request{.reason = "x", .by = "risk", .symbol = "", .strategy = ""}, "risk");
    REQUIRE(std::holds_alternative<schema::error_reply>(halt));
    CHECK(std::get<schema::error_reply>(halt).reason.find(
              "halt refused: client \"risk\" is not an operator") != std::string::npos);
    CHECK(p.cp->trading() == schema::trading_state::active);
    CHECK(std::holds_alternative<schema::error_reply>(p.call(schema::resume_request{}, "risk")));
    CHECK(std::holds_alternative<schema::ok_reply>(p.call(schema::halt_request{}, "ops")));
    CHECK(p.cp->trading() == schema::trading_state::halted);
    const schema::cancel_command cancel{9, "", "", true, "x", "risk"};
    const auto refused = p.call(cancel, "risk");
    REQUIRE(std::holds_alternative<schema::error_reply>(refused));
    CHECK(std::get<schema::error_reply>(refused).reason.find(
              "cancel refused: client \"risk\" is not an operator") != std::string::npos);
    CHECK(std::holds_alternative<schema::ok_reply>(p.call(cancel, "ops")));
    const schema::flatten_command flatten{.request_id = 9, .symbol = "", .reason = "", .by = ""};
    const auto no_flatten = p.call(flatten, "risk");
    REQUIRE(std::holds_alternative<schema::error_reply>(no_flatten));
    CHECK(std::get<schema::error_reply>(no_flatten)
              .reason.find("flatten refused: client \"risk\" is not an operator") !=
          std::string::npos);
    CHECK(std::holds_alternative<schema::ok_reply>(p.call(flatten, "ops")));

    CHECK(std::holds_alternative<schema::status_reply>(p.call(schema::status_request{}, "risk")));
    // No authenticated name (cannot happen behind ZAP): refused, not trusted.
    CHECK(std::holds_alternative<schema::error_reply>(p.call(schema::status_request{}, "")));
}

TEST_CASE("control plane with CURVE: every message type is answered by its row of the table") {
    // Each alternative of control_message, sent by the non-operator "risk" under another node's
    // name where the type has one: the refusal must be the one its authorization row gives.
    const auto check_type = [](auto msg) {
        using T = decltype(msg);
        INFO("type: ", T::type_name);
        if constexpr (requires { msg.name; }) msg.name = "execution";
        secured_plane p;
        const auto reply = p.call(schema::control_message{msg}, "risk");
        const auto* e = std::get_if<schema::error_reply>(&reply);
        if constexpr (T::is_reply) {
            REQUIRE(e != nullptr);
            CHECK(e->code == code::bad_request);
            CHECK(e->reason.find("is a reply, not a request") != std::string::npos);
        } else if constexpr (broker::access<T>::rule == broker::sender::as_itself) {
            REQUIRE(e != nullptr);
            CHECK(e->code == code::not_allowed);
            CHECK(e->reason.find(std::string(T::type_name) + " as \"execution\" refused") !=
                  std::string::npos);
        } else if constexpr (broker::access<T>::rule == broker::sender::operator_only) {
            REQUIRE(e != nullptr);
            CHECK(e->code == code::not_allowed);
            CHECK(e->reason.find("is not an operator") != std::string::npos);
            CHECK(p.cp->trading() == schema::trading_state::active);
        } else {
            static_assert(broker::access<T>::rule == broker::sender::any_client);
            // Handled (perhaps refused on its merits), never for who sent it.
            if (e != nullptr) {
                CHECK(e->reason.find("CURVE key") == std::string::npos);
                CHECK(e->reason.find("not an operator") == std::string::npos);
            }
        }
    };
    [&]<std::size_t... I>(std::index_sequence<I...>) {
        (check_type(std::variant_alternative_t<I, schema::control_message>{}), ...);
    }
    (std::make_index_sequence<std::variant_size_v<schema::control_message>>{});
}

TEST_CASE("cli: CURVE key flags are checked before anything is sent") {
    scratch_dir dir("clikeys");
    const auto broker_pair = common::generate_key_pair();
    const auto ops = common::generate_key_pair();
    (void)common::write_key_files(dir.path().string(), "broker", broker_pair, false);
    (void)common::write_key_files(dir.path().string(), "ops", ops, false);
    const auto run = [](const std::vector<std::string>& args) {
        std::ostringstream out, err;
        zmq::context_t ctx;
        cli::environment env{out, err, ctx, false};
        std::vector<std::string> argv{"tradebus"};
        argv.insert(argv.end(), args.begin(), args.end());
        const int code = cli::run(argv, env);
        return std::pair{code, err.str()};
    };
    struct row {
        std::vector<std::string> args;
        std::string expected;
    };
    const std::vector<row> rows{
        {{"status", "--key-file", dir.file("ops.key")}, "--key-file needs the broker's public key"},
        {{"status", "--broker-key", broker_pair.public_key},
         "--broker-key needs this client's key pair too"},
        {{"halt", "--broker-key", "short", "--key-file", dir.file("ops.key")},
         "--broker-key: expected a 40-character Z85 key, got 5 characters"},
        {{"sniff", "--broker-key-file", dir.file("nope.pub"), "--key-file", dir.file("ops.key")},
         "nope.pub: cannot read"},
        {{"status", "--broker-key-file", dir.file("broker.pub"), "--key-file", dir.file("ops.pub")},
         "ops.pub: permissions 0644 are too open"},
        {{"journal", "replay", "--broker-key", broker_pair.public_key, "--broker-key-file",
          dir.file("broker.pub"), "--key-file", dir.file("ops.key")},
         "--broker-key and --broker-key-file: give one of them"},
    };
    for (const auto& r : rows) {
        const auto [code, err] = run(r.args);
        INFO(r.args.front(), " -> ", err);
        CHECK(code == 2);
        CHECK(err.find(r.expected) != std::string::npos);
        CHECK(err.find(ops.secret_key) == std::string::npos);
    }
}
