// The page's files, compiled into the node (nodes/web/assets/, embedded by
// nodes/web/embed_assets.cmake): nothing is fetched from anywhere else at page load.
#pragma once

#include <string_view>

namespace tradebus::web::assets {

extern const std::string_view index_html;
extern const std::string_view app_js;
extern const std::string_view app_css;

}  // namespace tradebus::web::assets
