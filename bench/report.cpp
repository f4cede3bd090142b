#include "report.hpp"

#include <sys/utsname.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

#include "tradebus/common/process.hpp"

namespace tradebus::bench {

namespace {

// Display width of UTF-8 text (code points; every character we print is one column).
std::size_t width(const std::string& s) {
    std::size_t w = 0;
    for (const char c : s) w += (static_cast<unsigned char>(c) & 0xc0u) != 0x80u ? 1 : 0;
    return w;
}

std::string pad(const std::string& s, std::size_t w) {
    return s + std::string(w > width(s) ? w - width(s) : 0, ' ');
}

std::string run_command(const std::string& cmd) {
    std::string out;
    std::unique_ptr<FILE, int (*)(FILE*)> p(::popen(cmd.c_str(), "r"), ::pclose);
    if (!p) return out;
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), static_cast<int>(buf.size()), p.get()) != nullptr) {
        out += buf.data();
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos) return line.substr(colon + 2);
        }
    }
    return "unknown CPU";
}

std::string escape_md(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (c == '|') out += "\\";
        out += c;
    }
    return out;
}

}  // namespace

std::string table::text() const {
    const std::array<std::string, 6> head{"section",  "measurement", "tradebus",
                                          "baseline", "ratio",       "notes"};
    std::array<std::size_t, 6> w{};
    for (std::size_t i = 0; i < 6; ++i) w[i] = width(head[i]);
    for (const auto& r : rows_) {
        const std::array<const std::string*, 6> c{&r.section,  &r.measurement, &r.measured,
                                                  &r.baseline, &r.ratio,       &r.notes};
        for (std::size_t i = 0; i < 5; ++i) w[i] = std::max(w[i], width(*c[i]));
    }
    std::ostringstream out;
    const auto line = [&](const std::array<const std::string*, 6>& c) {
        std::string l;
        for (std::size_t i = 0; i < 6; ++i) l += (i < 5 ? pad(*c[i], w[i]) + "  " : *c[i]);
        while (!l.empty() && l.back() == ' ') l.pop_back();
        out << l << "\n";
    };
    line({&head[0], &head[1], &head[2], &head[3], &head[4], &head[5]});
    std::string prev;
    for (const auto& r : rows_) {
        if (!prev.empty() && r.section != prev) out << "\n";
        prev = r.section;
        line({&r.section, &r.measurement, &r.measured, &r.baseline, &r.ratio, &r.notes});
    }
    return out.str();
}

std::string table::markdown() const {
    std::ostringstream out;
    out << "| section | measurement | tradebus | baseline | ratio | notes |\n";
    out << "|---|---|--:|--:|--:|---|\n";
    for (const auto& r : rows_) {
        out << "| " << escape_md(r.section) << " | " << escape_md(r.measurement) << " | "
            << escape_md(r.measured) << " | " << escape_md(r.baseline) << " | "
            << escape_md(r.ratio) << " | " << escape_md(r.notes) << " |\n";
    }
    return out.str();
}

run_facts collect_facts(const std::string& source_dir, int argc, char** argv) {
    run_facts f;
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    std::array<char, 64> buf{};
    std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
    f.date = buf.data();

    utsname u{};
    ::uname(&u);
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page = ::sysconf(_SC_PAGESIZE);
    const double gib =
        static_cast<double>(pages) * static_cast<double>(page) / (1024.0 * 1024 * 1024);
    f.machine = std::to_string(::sysconf(_SC_NPROCESSORS_ONLN)) + " CPUs (nproc), " + cpu_model() +
                ", " + fmt_fixed(gib, 1) + " GiB RAM, Linux " + u.release;

    int major = 0, minor = 0, patch = 0;
    zmq_version(&major, &minor, &patch);
    f.libzmq = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);

    const std::string q = "'" + source_dir + "'";
    const std::string sha = run_command("git -C " + q + " rev-parse --short HEAD 2>/dev/null");
    if (sha.empty()) {
        f.git = std::string(common::version()) + " (built-in; git not available)";
    } else {
        const std::string dirty =
            run_command("git -C " + q + " status --porcelain --untracked-files=no 2>/dev/null");
        const std::string untracked =
            run_command("git -C " + q + " status --porcelain 2>/dev/null | grep -c '^[?][?]'");
        f.git = sha;
        if (!dirty.empty() || (untracked != "0" && !untracked.empty())) {
            f.git += " + uncommitted changes in the work tree";
        }
    }
    for (int i = 0; i < argc; ++i) {
        if (i > 0) f.command += ' ';
        f.command += argv[i];
    }
    return f;
}

std::string results_markdown(const run_facts& f, const table& t, const std::string& findings) {
    std::ostringstream out;
    out << "# tradebus benchmark results\n\n"
        << "Generated by `tradebus-bench --markdown`; do not edit by hand (run it again). How to "
           "run it and what every number means: [README.md](README.md).\n\n"
        << "| | |\n|---|---|\n"
        << "| date | " << f.date << " |\n"
        << "| machine | " << escape_md(f.machine) << " |\n"
        << "| libzmq | " << f.libzmq << " |\n"
        << "| git | " << escape_md(f.git) << " |\n"
        << "| command | `" << escape_md(f.command) << "` |\n"
        << "| mode | " << f.mode << " (whole suite: " << fmt_fixed(f.seconds, 0) << " s) |\n\n"
        << "**The machine is shared and noisy** (2 cores, other engineers' builds running at "
           "the same time). Absolute numbers move from run to run; compare the **ratios** of "
           "measurements taken in the same run (tradebus vs its baseline, alternated), and "
           "read latencies as percentiles, never as a single time.\n\n"
        << t.markdown() << "\n";
    if (!findings.empty()) out << "## Findings of this run\n\n" << findings << "\n";
    return out.str();
}

std::string fmt_fixed(double v, int digits) {
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%.*f", digits, v);
    return buf.data();
}

std::string fmt_rate(double per_s) {
    if (per_s >= 1e6) return fmt_fixed(per_s / 1e6, 2) + " M/s";
    if (per_s >= 1e3) return fmt_fixed(per_s / 1e3, 1) + " k/s";
    return fmt_fixed(per_s, 0) + " /s";
}

std::string fmt_count(std::uint64_t n) {
    const std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace tradebus::bench
