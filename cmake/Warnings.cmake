# tradebus::warnings: the warning policy every target links PRIVATE, one why per flag
# (CONTRIBUTING.md "Formatting and warnings").
add_library(tradebus_warnings INTERFACE)
add_library(tradebus::warnings ALIAS tradebus_warnings)
target_compile_options(tradebus_warnings INTERFACE
  -Wall -Wextra              # the baseline everyone agrees on
  -Wpedantic                 # stay within ISO C++ so clang and gcc agree
  -Wshadow                   # a shadowed name in a handler is a bug waiting to happen
  -Wconversion               # prices and quantities are integers: no silent narrowing
  -Wsign-conversion          # u64 sequence numbers vs signed sizes
  -Wold-style-cast           # casts must say which kind they are
  -Wnon-virtual-dtor         # polymorphic handlers are deleted through the base
  -Wimplicit-fallthrough     # every switch over an event type says what it means
)
if(TRADEBUS_WARNINGS_AS_ERRORS)
  target_compile_options(tradebus_warnings INTERFACE -Werror)
endif()
