// A fresh directory per test for configs, logs and ipc:// sockets. Removed on scope exit when
// the test passed; kept (and its path printed) when it failed, for the logs inside.
#pragma once

#include <filesystem>
#include <string_view>

namespace tradebus::test {

class temp_dir {
  public:
    temp_dir();  // $TMPDIR/tradebus-it-XXXXXX (or /tmp)
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] std::filesystem::path file(std::string_view name) const { return path_ / name; }
    /// Writes `content` to file(name) and returns its path.
    std::filesystem::path write(std::string_view name, std::string_view content) const;

  private:
    std::filesystem::path path_;
};

}  // namespace tradebus::test
