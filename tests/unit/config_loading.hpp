// Loads one node's own TOML table the way the runtime does (getters, then finish() for unknown
// keys) and returns the config with every error line, for the config tests of each node kind.
#pragma once

#include <toml++/toml.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tradebus/common/config.hpp"

namespace tradebus::testing {

template <class Config>
struct loaded_config {
    Config cfg;
    std::vector<std::string> errors;
};

/// Parses `toml_text` as if it were `file`, hands table `own` to `read`, and reports every
/// problem (including unknown keys) in `errors`.
template <class Read>
auto load_own_table(std::string_view toml_text, std::string file, std::string_view own, Read read)
    -> loaded_config<decltype(read(std::declval<common::section&>()))> {
    auto table = toml::parse(toml_text);
    common::config_errors errors(std::move(file));
    common::section root(&table, "", errors);
    auto section = root.table(own);
    auto cfg = read(section);
    root.finish();
    return {std::move(cfg), errors.lines()};
}

}  // namespace tradebus::testing
