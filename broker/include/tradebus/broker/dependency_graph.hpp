// The pipeline's dependency graph: which node waits for which. Edges come from two places: the
// broker's [pipeline] config (fixed for the broker's life) and the depends_on a node declares
// at REGISTER (held while its session lives). A dependency must name a configured pipeline
// node; the graph stays acyclic because every change is checked before it is applied.
// Edge direction: "a -> b" means a depends on b (b starts first).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace tradebus::broker {

class dependency_graph {
  public:
    /// Adds a configured pipeline node with its dependencies (which may be added later).
    void add_configured(const std::string& name, const std::vector<std::string>& depends_on);

    [[nodiscard]] bool is_configured(std::string_view name) const;
    [[nodiscard]] std::vector<std::string> configured_names() const;

    /// The first name in `depends_on` that is not a configured pipeline node, or nullopt.
    [[nodiscard]] std::optional<std::string> unknown_dependency(
        const std::vector<std::string>& depends_on) const;

    /// A configured node whose configured dependency is not configured: {node, missing}.
    [[nodiscard]] std::optional<std::pair<std::string, std::string>> dangling_configured() const;

    /// The cycle `name` would close if its declared dependencies became `depends_on`, as a
    /// path starting and ending at `name` ("a", "b", "a"), or nullopt when none would.
    [[nodiscard]] std::optional<std::vector<std::string>> cycle_if_declared(
        const std::string& name, const std::vector<std::string>& depends_on) const;

    /// Any cycle in the graph (config validation), smallest starting name first.
    [[nodiscard]] std::optional<std::vector<std::string>> find_cycle() const;

    /// Replaces the declared dependencies of `name` (adding it as an unconfigured node if
    /// needed). Call only after unknown_dependency() and cycle_if_declared() passed.
    void declare(const std::string& name, const std::vector<std::string>& depends_on);
    /// Drops what `name` declared; an unconfigured node leaves the graph entirely.
    void forget(const std::string& name);

    /// Configured + declared dependencies of `name`, sorted, without duplicates.
    [[nodiscard]] std::vector<std::string> dependencies(std::string_view name) const;

    /// Every node, dependencies before their dependents; ties broken by name, so the order is
    /// the same on every run. The graph is acyclic by construction.
    [[nodiscard]] std::vector<std::string> start_order() const;

    /// "a -> b -> a".
    [[nodiscard]] static std::string path_text(const std::vector<std::string>& path);

  private:
    struct entry {
        bool configured = false;
        std::set<std::string> configured_deps;
        std::set<std::string> declared_deps;
    };
    [[nodiscard]] std::set<std::string> deps_of(const std::string& name,
                                                const std::string* override_name,
                                                const std::set<std::string>* override_deps) const;
    [[nodiscard]] std::optional<std::vector<std::string>> cycle_from(
        const std::string& start, const std::string* override_name,
        const std::set<std::string>* override_deps) const;

    std::map<std::string, entry, std::less<>> nodes_;
};

}  // namespace tradebus::broker
