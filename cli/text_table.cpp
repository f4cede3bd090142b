// Column sizing and alignment for text_table.hpp.
#include "text_table.hpp"

#include <algorithm>

namespace tradebus::cli::detail {

namespace {
// Display width in columns: counts UTF-8 lead bytes only, so "→" is one column.
std::size_t width(const std::string& s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}
}  // namespace

std::string text_table::render() const {
    std::vector<std::size_t> widths(columns_.size());
    for (std::size_t c = 0; c < columns_.size(); ++c) {
        widths[c] = width(columns_[c].header);
        for (const auto& row : rows_) {
            if (c < row.size()) widths[c] = std::max(widths[c], width(row[c]));
        }
    }
    std::string out;
    const auto line = [&](auto cell_of) {
        std::string text;
        for (std::size_t c = 0; c < columns_.size(); ++c) {
            const std::string& cell = cell_of(c);
            const std::size_t pad = widths[c] - width(cell);
            if (c > 0) text.append("  ");
            if (columns_[c].how == align::right) text.append(pad, ' ');
            text.append(cell);
            if (columns_[c].how == align::left && c + 1 < columns_.size()) text.append(pad, ' ');
        }
        while (!text.empty() && text.back() == ' ') text.pop_back();
        out.append(text);
        out.push_back('\n');
    };
    line([&](std::size_t c) -> const std::string& { return columns_[c].header; });
    static const std::string blank;
    for (const auto& row : rows_) {
        line([&](std::size_t c) -> const std::string& { return c < row.size() ? row[c] : blank; });
    }
    return out;
}

}  // namespace tradebus::cli::detail
