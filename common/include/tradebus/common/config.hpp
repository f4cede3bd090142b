// Validating TOML reader shared by the broker and every node (ARCHITECTURE.md "Config
// validation"). It reads a file into plain structs through `section` views that check types and
// ranges, remember which keys were read, and report unknown keys at the end, collecting every
// problem in the form `file:line:col: key: expected ..., got ...` so one run shows them all.
#pragma once

#include <toml++/toml.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tradebus::common {

/// Every problem found while loading one config file.
class config_errors {
  public:
    explicit config_errors(std::string file) : file_(std::move(file)) {}
    void add(const toml::source_region& where, std::string_view key, std::string_view message);
    void add(std::string_view key, std::string_view message);  // no position (missing key)
    [[nodiscard]] bool empty() const noexcept { return lines_.empty(); }
    [[nodiscard]] const std::vector<std::string>& lines() const noexcept { return lines_; }
    [[nodiscard]] const std::string& file() const noexcept { return file_; }

  private:
    std::string file_;
    std::vector<std::string> lines_;
};

/// Thrown by load helpers once all errors are collected; main prints what() and exits 2.
class config_error : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// A view of one TOML table. Getters record the key as known; finish() reports the rest.
/// Missing optional keys return the default; type or range problems are recorded and the
/// default is returned so loading can go on and find further errors.
class section {
  public:
    section(const toml::table* table, std::string path, config_errors& errors);

    [[nodiscard]] bool present() const noexcept { return state_->table != nullptr; }
    [[nodiscard]] bool has(std::string_view key) const;

    std::string string(std::string_view key, std::string fallback = {}, bool required = false);
    std::int64_t integer(std::string_view key, std::int64_t fallback, std::int64_t min,
                         std::int64_t max, bool required = false);
    double number(std::string_view key, double fallback, double min, double max,
                  bool required = false);
    bool boolean(std::string_view key, bool fallback);
    std::vector<std::string> strings(std::string_view key, std::vector<std::string> fallback = {});
    /// A ZeroMQ endpoint: tcp://host:port, ipc://path or inproc://name.
    std::string endpoint(std::string_view key, std::string fallback, bool required = false);
    /// One of `allowed` (e.g. log levels, source kinds).
    std::string choice(std::string_view key, std::string fallback,
                       const std::vector<std::string_view>& allowed);

    /// A nested table; absent = a section whose getters all return defaults.
    section table(std::string_view key, bool required = false);
    /// An array of tables ([[key]] in TOML): one section each, named key[0], key[1], ...
    /// Absent = none; a value that is not an array of tables is recorded as an error.
    std::vector<section> tables(std::string_view key);
    /// Keys of the nested tables of this table (e.g. per-symbol parameter tables).
    [[nodiscard]] std::vector<std::string> table_keys() const;

    /// Records an error against `key` of this section (for cross-field checks).
    void error(std::string_view key, std::string_view message);

    /// Reports every key of this table (and of nested tables obtained through table()) that
    /// no getter asked for, with a "did you mean" hint when a known key is close.
    void finish();

    [[nodiscard]] const std::string& path() const noexcept { return state_->path; }

  private:
    // Shared so that copies of a section (and the parent's list of children) see the same
    // set of keys read; finish() on the root walks every child.
    struct state {
        const toml::table* table;
        std::string path;
        config_errors* errors;
        std::vector<std::string> known;
        std::vector<std::shared_ptr<state>> children;
    };
    explicit section(std::shared_ptr<state> s) : state_(std::move(s)) {}
    const toml::node* lookup(std::string_view key);
    [[nodiscard]] std::string full(std::string_view key) const;
    void mismatch(const toml::node& node, std::string_view key, std::string_view expected);
    static void finish_state(state& s);

    std::shared_ptr<state> state_;
};

/// Parses `path`. On a syntax error or a missing file, records it and returns nullopt.
std::optional<toml::table> parse_config_file(const std::string& path, config_errors& errors);

/// Throws config_error listing every line when `errors` is not empty.
void throw_if_errors(const config_errors& errors);

/// Levenshtein distance, for "did you mean" hints on unknown keys and names.
[[nodiscard]] std::size_t edit_distance(std::string_view a, std::string_view b);

/// Why `endpoint` is not a usable ZeroMQ endpoint, or nullopt.
[[nodiscard]] std::optional<std::string> endpoint_error(std::string_view endpoint);

}  // namespace tradebus::common
