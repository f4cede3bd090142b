#include "tradebus/broker/dependency_graph.hpp"

#include <algorithm>
#include <functional>

namespace tradebus::broker {

void dependency_graph::add_configured(const std::string& name,
                                      const std::vector<std::string>& depends_on) {
    auto& e = nodes_[name];
    e.configured = true;
    e.configured_deps.insert(depends_on.begin(), depends_on.end());
}

bool dependency_graph::is_configured(std::string_view name) const {
    auto it = nodes_.find(name);
    return it != nodes_.end() && it->second.configured;
}

std::vector<std::string> dependency_graph::configured_names() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : nodes_) {
        if (e.configured) out.push_back(name);
    }
    return out;
}

std::optional<std::string> dependency_graph::unknown_dependency(
    const std::vector<std::string>& depends_on) const {
    for (const auto& dep : depends_on) {
        if (!is_configured(dep)) return dep;
    }
    return std::nullopt;
}

std::optional<std::pair<std::string, std::string>> dependency_graph::dangling_configured() const {
    for (const auto& [name, e] : nodes_) {
        for (const auto& dep : e.configured_deps) {
            if (!is_configured(dep)) return std::pair{name, dep};
        }
    }
    return std::nullopt;
}

std::set<std::string> dependency_graph::deps_of(const std::string& name,
                                                const std::string* override_name,
                                                const std::set<std::string>* override_deps) const {
    std::set<std::string> out;
    auto it = nodes_.find(name);
    if (it != nodes_.end()) {
        out = it->second.configured_deps;
        if (override_name == nullptr || *override_name != name) {
            out.insert(it->second.declared_deps.begin(), it->second.declared_deps.end());
        }
    }
    if (override_name != nullptr && *override_name == name) {
        out.insert(override_deps->begin(), override_deps->end());
    }
    return out;
}

std::optional<std::vector<std::string>> dependency_graph::cycle_from(
    const std::string& start, const std::string* override_name,
    const std::set<std::string>* override_deps) const {
    // Depth-first search keeping the current path; a dependency already on the path closes a
    // cycle. Recursion depth is bounded by the number of nodes (a few dozen in practice).
    std::vector<std::string> path;
    std::set<std::string> done;
    std::optional<std::vector<std::string>> found;
    std::function<void(const std::string&)> visit = [&](const std::string& n) {
        if (found || done.count(n) != 0) return;
        if (auto on = std::find(path.begin(), path.end(), n); on != path.end()) {
            std::vector<std::string> cycle(on, path.end());
            cycle.push_back(n);
            found = std::move(cycle);
            return;
        }
        path.push_back(n);
        for (const auto& dep : deps_of(n, override_name, override_deps)) visit(dep);
        path.pop_back();
        done.insert(n);
    };
    visit(start);
    return found;
}

std::optional<std::vector<std::string>> dependency_graph::cycle_if_declared(
    const std::string& name, const std::vector<std::string>& depends_on) const {
    const std::set<std::string> deps(depends_on.begin(), depends_on.end());
    // The graph is acyclic without these edges, so any new cycle passes through `name` and a
    // search starting there reports it starting and ending at `name`.
    return cycle_from(name, &name, &deps);
}

std::optional<std::vector<std::string>> dependency_graph::find_cycle() const {
    for (const auto& [name, e] : nodes_) {
        if (auto c = cycle_from(name, nullptr, nullptr)) {
            // Rotate so the path starts at its smallest name: one stable text per cycle.
            std::vector<std::string> ring(c->begin(), c->end() - 1);
            std::rotate(ring.begin(), std::min_element(ring.begin(), ring.end()), ring.end());
            ring.push_back(ring.front());
            return ring;
        }
    }
    return std::nullopt;
}

void dependency_graph::declare(const std::string& name,
                               const std::vector<std::string>& depends_on) {
    auto& e = nodes_[name];
    e.declared_deps = std::set<std::string>(depends_on.begin(), depends_on.end());
}

void dependency_graph::forget(const std::string& name) {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return;
    if (it->second.configured) {
        it->second.declared_deps.clear();
    } else {
        nodes_.erase(it);
    }
}

std::vector<std::string> dependency_graph::dependencies(std::string_view name) const {
    auto it = nodes_.find(name);
    if (it == nodes_.end()) return {};
    std::set<std::string> all = it->second.configured_deps;
    all.insert(it->second.declared_deps.begin(), it->second.declared_deps.end());
    return {all.begin(), all.end()};
}

std::vector<std::string> dependency_graph::start_order() const {
    // Kahn's algorithm; `ready` is ordered, so ties go by name.
    std::map<std::string, std::size_t> waiting;  // node -> unmet dependencies
    std::map<std::string, std::vector<std::string>> dependents;
    for (const auto& [name, e] : nodes_) {
        const auto deps = deps_of(name, nullptr, nullptr);
        std::size_t known = 0;
        for (const auto& d : deps) {
            if (nodes_.count(d) == 0) continue;  // dangling: reported by config validation
            dependents[d].push_back(name);
            ++known;
        }
        waiting[name] = known;
    }
    std::set<std::string> ready;
    for (const auto& [name, n] : waiting) {
        if (n == 0) ready.insert(name);
    }
    std::vector<std::string> order;
    while (!ready.empty()) {
        std::string next = *ready.begin();
        ready.erase(ready.begin());
        for (const auto& d : dependents[next]) {
            if (--waiting[d] == 0) ready.insert(d);
        }
        order.push_back(std::move(next));
    }
    return order;
}

std::string dependency_graph::path_text(const std::vector<std::string>& path) {
    std::string out;
    for (const auto& n : path) {
        if (!out.empty()) out += " -> ";
        out += n;
    }
    return out;
}

}  // namespace tradebus::broker
