// Writes the fuzzers' seed corpus and dictionaries, generated from the schema itself so they
// never go stale: one encoded sample of every event / control message (all fields set, from
// tests/unit/schema_samples.hpp) plus its default-valued twin, and a libFuzzer dictionary of
// every wire key, type name and enum name as msgpack str bytes.
// The control-plane target gets the control samples framed as requests, plus one input that
// sends them all in turn; the journal-reader target gets a small real journal segment.
// Usage: tradebus_fuzz_seeds OUT_DIR  ->  OUT_DIR/<target>/*, OUT_DIR/<target>.dict
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <type_traits>
#include <variant>

#include "schema_samples.hpp"
#include "tradebus/journal/writer.hpp"
#include "tradebus/schema/codec.hpp"

namespace {

namespace fs = std::filesystem;
using namespace tradebus::schema;

struct probe_visitor {
    template <class F>
    void operator()(std::string_view, const F&) {}
};
template <class T>
concept described = requires(const T& t, probe_visitor& p) {
    T::fields(t, p);
};

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};

// Every key (recursively) and every enum name a type can put on the wire.
template <class T>
void collect_words(std::set<std::string>& words);

struct word_collector {
    std::set<std::string>* words;
    template <class F>
    void operator()(std::string_view key, const F&) {
        words->emplace(key);
        collect_words<F>(*words);
    }
};

template <class T>
void collect_words(std::set<std::string>& words) {
    if constexpr (described<T>) {
        const T value{};
        word_collector c{&words};
        T::fields(value, c);
    } else if constexpr (is_vector<T>::value) {
        collect_words<typename T::value_type>(words);
    } else if constexpr (std::is_enum_v<T>) {
        for (const auto name : enum_names<T>::names) words.emplace(name);
    }
}

bool write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(out);
}

// A dictionary entry: the word as a msgpack fixstr (header byte + text), \xNN-escaped.
std::string dict_line(std::string_view word) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string bytes(1, static_cast<char>(0xa0 | (word.size() & 0x1f)));
    bytes.append(word);
    std::string line = "\"";
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        if (b >= 0x20 && b < 0x7f && c != '"' && c != '\\') {
            line.push_back(c);
        } else {
            line += "\\x";
            line.push_back(digits[b >> 4]);
            line.push_back(digits[b & 0x0f]);
        }
    }
    return line + "\"\n";
}

template <class Variant, class Encode>
bool write_target(const fs::path& dir, const fs::path& dict, std::set<std::string> words,
                  Encode encode) {
    fs::create_directories(dir);
    bool ok = true;
    std::string bytes;
    for (const Variant& sample : samples::all_samples<Variant>()) {
        std::visit(
            [&](const auto& value) {
                using T = std::decay_t<decltype(value)>;
                words.emplace(T::type_name);
                collect_words<T>(words);
                encode(value, bytes);
                ok = write_file(dir / (std::string(T::type_name) + ".msgpack"), bytes) && ok;
                encode(T{}, bytes);
                ok = write_file(dir / (std::string(T::type_name) + "-defaults.msgpack"), bytes) &&
                     ok;
            },
            sample);
    }
    std::ofstream out(dict);
    for (const auto& w : words) {
        if (w.size() < 32) out << dict_line(w);
    }
    // Format bytes that change structure: 32-bit lengths, 64-bit numbers, the reserved byte.
    out << "\"\\xdb\\xff\\xff\\xff\\xff\"\n\"\\xdd\\x00\\x01\\x00\\x00\"\n\"\\xdf\\x00\\x00\\x00\\x"
           "41\"\n"
        << "\"\\xcf\\x80\\x00\\x00\\x00\\x00\\x00\\x00\\x00\"\n\"\\xd3\\xff\\xff\\xff\\xff\\xff\\xf"
           "f\\xff\\xff\"\n"
        << "\"\\xcb\\x43\\xf0\\x00\\x00\\x00\\x00\\x00\\x00\"\n\"\\xc1\"\n";
    return ok && static_cast<bool>(out);
}

// fuzz_control_plane input framing: [op 0 = request][length u16 LE][bytes].
std::string framed(const std::string& request) {
    std::string out(1, '\0');
    out.push_back(static_cast<char>(request.size() & 0xff));
    out.push_back(static_cast<char>((request.size() >> 8) & 0xff));
    return out + request;
}

bool write_control_plane(const fs::path& dir, const fs::path& dict, const fs::path& decoder_dict) {
    fs::create_directories(dir);
    bool ok = true;
    std::string bytes, all;
    for (const control_message& sample : samples::all_samples<control_message>()) {
        encode_control(sample, bytes);
        ok = write_file(dir / (std::string(type_name(sample)) + ".req"), framed(bytes)) && ok;
        all += framed(bytes);
        all += std::string("\x03\x0a\x00", 3);  // then 100 ms pass
    }
    ok = write_file(dir / "all-in-turn.req", all) && ok;
    std::error_code ec;
    fs::copy_file(decoder_dict, dict, fs::copy_options::overwrite_existing, ec);
    return ok && !ec;
}

bool write_journal_reader(const fs::path& dir, const fs::path& dict) {
    fs::create_directories(dir);
    const fs::path tmp = dir / "tmp-journal";
    fs::remove_all(tmp);
    {
        tradebus::journal::writer_options opts;
        opts.dir = tmp.string();
        opts.fsync = tradebus::journal::fsync_policy::none;
        tradebus::journal::writer w(opts);
        std::string bytes;
        std::int64_t ts = 1'700'000'000'000'000'000;
        for (const payload& body : samples::all_samples<payload>()) {
            encode_event(event{samples::sample_envelope(), body}, bytes);
            (void)w.append("md.tick.AAPL", bytes, ts++, 0);
        }
        (void)w.append("md.tick.AAPL", "\xc1", ts++, 1);  // an undecodable one, flagged
    }
    bool ok = false;
    for (const auto& entry : fs::directory_iterator(tmp)) {
        std::ifstream in(entry.path(), std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), {});
        ok = write_file(dir / "segment.tjl", bytes);
        ok = write_file(dir / "two-segments.tjl", bytes + "\n--\n" + bytes) && ok;
    }
    fs::remove_all(tmp);
    std::ofstream out(dict);
    out << "\"TBJ1\"\n\"\\x0a--\\x0a\"\n\"\\x01\\x00\\x20\\x00\"\n\"\\xff\\xff\\xff\\xff\"\n";
    return ok && static_cast<bool>(out);
}

// fuzz_http_request: a few requests the web page makes and a few it must refuse.
bool write_http_request(const fs::path& dir, const fs::path& dict) {
    fs::create_directories(dir);
    bool ok = write_file(dir / "page.http", "GET / HTTP/1.1\r\nHost: 127.0.0.1:8470\r\n\r\n");
    ok = write_file(dir / "events.http",
                    "GET /events HTTP/1.1\r\nAccept: text/event-stream\r\n\r\n") &&
         ok;
    ok = write_file(dir / "search.http", "GET /topics?q=md%2Etick+A&x=1 HTTP/1.0\n\n") && ok;
    ok = write_file(dir / "post.http", "POST /state HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}") && ok;
    ok = write_file(dir / "garbage.http", "\x16\x03\x01\x02 GET\r\n\r\n") && ok;
    std::ofstream out(dict);
    for (const char* w : {"GET", "HEAD", "POST", " HTTP/1.1", "\\x0d\\x0a", "\\x0a\\x0a",
                          "?q=", "%2", "+", "&", "Host:", "X-Token:", "/events", "/topics"}) {
        out << '"' << w << "\"\n";
    }
    return ok && static_cast<bool>(out);
}

// fuzz_fix_message: messages a venue sends (an execution report, a market data snapshot with
// its group, a logout) framed with the right BodyLength and CheckSum, and a few broken ones.
std::string fix_framed(const std::string& type_and_body) {
    std::string text = std::string("8=FIX.4.4\x01") + "9=" + std::to_string(type_and_body.size()) +
                       "\x01" + type_and_body;
    unsigned sum = 0;
    for (char c : text) sum += static_cast<unsigned char>(c);
    char trailer[8];
    std::snprintf(trailer, sizeof trailer, "10=%03u\x01", sum % 256);
    return text + trailer;
}

bool write_fix_message(const fs::path& dir, const fs::path& dict) {
    fs::create_directories(dir);
    const std::string report =
        "35=8\x01"
        "34=7\x01"
        "43=Y\x01"
        "49=VENUE\x01"
        "52=20261206-09:00:54.543\x01"
        "56=TRADEBUS\x01"
        "6=189.5\x01"
        "11=risk-1-7\x01"
        "14=40\x01"
        "17=E9\x01"
        "31=189.5\x01"
        "32=40\x01"
        "37=O3\x01"
        "39=1\x01"
        "54=1\x01"
        "55=AAPL\x01"
        "150=F\x01"
        "151=60\x01";
    bool ok = write_file(dir / "fill.fix", fix_framed(report));
    ok = write_file(dir / "snapshot.fix", fix_framed("35=W\x01"
                                                     "55=AAPL\x01"
                                                     "268=2\x01"
                                                     "269=0\x01"
                                                     "270=189.5\x01"
                                                     "271=300\x01"
                                                     "269=1\x01"
                                                     "270=189.52\x01"
                                                     "271=200\x01")) &&
         ok;
    ok = write_file(dir / "logout.fix", fix_framed("35=5\x01"
                                                   "58=bad CompID\x01")) &&
         ok;
    ok = write_file(dir / "bad-sum.fix",
                    "8=FIX.4.4\x01"
                    "9=5\x01"
                    "35=0\x01"
                    "10=000\x01") &&
         ok;
    std::ofstream out(dict);
    for (const char* w : {"8=FIX.4.4\\x01", "\\x01", "9=", "10=", "35=8", "35=W", "35=X", "150=F",
                          "268=", "269=", "270=", "271=", "43=Y", "14=", "32="}) {
        out << '"' << w << "\"\n";
    }
    return ok && static_cast<bool>(out);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
        return 2;
    }
    const fs::path out = argv[1];
    const std::set<std::string> envelope_words = {"v",     "type",     "src", "seq",
                                                  "ts_ns", "trace_id", "data"};
    const bool ok =
        write_target<payload>(out / "fuzz_event_decoder", out / "fuzz_event_decoder.dict",
                              envelope_words,
                              [](const auto& body, std::string& bytes) {
                                  encode_event(samples::sample_envelope(), body, bytes);
                              }) &&
        write_target<control_message>(
            out / "fuzz_control_decoder", out / "fuzz_control_decoder.dict", {"v", "type"},
            [](const auto& msg, std::string& bytes) { encode_control(msg, bytes); }) &&
        write_control_plane(out / "fuzz_control_plane", out / "fuzz_control_plane.dict",
                            out / "fuzz_control_decoder.dict") &&
        write_journal_reader(out / "fuzz_journal_reader", out / "fuzz_journal_reader.dict") &&
        write_http_request(out / "fuzz_http_request", out / "fuzz_http_request.dict") &&
        write_fix_message(out / "fuzz_fix_message", out / "fuzz_fix_message.dict");
    if (!ok) {
        std::fprintf(stderr, "tradebus_fuzz_seeds: cannot write under %s\n", out.c_str());
        return 1;
    }
    return 0;
}
