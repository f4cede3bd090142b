// The benchmark's one table, printed as aligned text and written as Markdown (RESULTS.md),
// plus the facts that make a result reproducible: date, machine, libzmq, git sha, command.
#pragma once

#include <string>
#include <vector>

namespace tradebus::bench {

/// One row: `measured` is tradebus (broker, codec, journal), `baseline` what it is compared
/// with in the same run (bare zmq_proxy, plain write(2)/read(2)), `ratio` measured/baseline.
struct row {
    std::string section, measurement, measured, baseline, ratio, notes;
};

class table {
  public:
    void add(row r) { rows_.push_back(std::move(r)); }
    [[nodiscard]] const std::vector<row>& rows() const noexcept { return rows_; }
    /// Aligned plain text, one line per row, a blank line between sections.
    [[nodiscard]] std::string text() const;
    /// A GitHub Markdown table.
    [[nodiscard]] std::string markdown() const;

  private:
    std::vector<row> rows_;
};

struct run_facts {
    std::string date;     // UTC, ISO 8601
    std::string machine;  // nproc, CPU model, memory, kernel
    std::string libzmq;   // runtime zmq_version()
    std::string git;      // sha (+ "dirty" when the work tree has changes)
    std::string command;  // as typed
    std::string mode;     // "quick" / "full"
    double seconds = 0;   // wall time of the whole suite
};

/// Date, machine and libzmq of this process; `git` read from `source_dir` (or the built-in
/// version when git is not available).
[[nodiscard]] run_facts collect_facts(const std::string& source_dir, int argc, char** argv);

/// The RESULTS.md text: facts, the table, and how to read it.
[[nodiscard]] std::string results_markdown(const run_facts& facts, const table& t,
                                           const std::string& findings);

// Number formatting for the cells.
[[nodiscard]] std::string fmt_rate(double per_s);           // "812 k/s", "1.21 M/s"
[[nodiscard]] std::string fmt_fixed(double v, int digits);  // "0.93"
[[nodiscard]] std::string fmt_count(std::uint64_t n);       // "1,000,000"

}  // namespace tradebus::bench
