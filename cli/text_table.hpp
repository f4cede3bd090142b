// A plain-text table with a header row and columns sized to their widest cell: what the
// stats view and `tradebus status` print. Numeric columns align right.
#pragma once

#include <string>
#include <vector>

namespace tradebus::cli::detail {

class text_table {
  public:
    enum class align : unsigned char { left, right };
    struct column {
        std::string header;
        align how = align::left;
    };
    explicit text_table(std::vector<column> columns) : columns_(std::move(columns)) {}

    /// Adds a row; missing cells are blank, extra cells are ignored.
    void add(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
    [[nodiscard]] bool empty() const noexcept { return rows_.empty(); }

    /// The table, one line per row (header first), each ending with '\n'. Columns are
    /// separated by two spaces; the last column is never padded (no trailing blanks).
    [[nodiscard]] std::string render() const;

  private:
    std::vector<column> columns_;
    std::vector<std::vector<std::string>> rows_;
};

}  // namespace tradebus::cli::detail
