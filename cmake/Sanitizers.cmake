# tradebus::options: sanitizer instrumentation, applied to every target through one INTERFACE
# target. ASan+UBSan go together; TSan needs its own build (it cannot be combined with ASan).
add_library(tradebus_options INTERFACE)
add_library(tradebus::options ALIAS tradebus_options)
if(TRADEBUS_SANITIZE)
  target_compile_options(tradebus_options INTERFACE
    -fsanitize=${TRADEBUS_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(tradebus_options INTERFACE -fsanitize=${TRADEBUS_SANITIZE})
endif()
