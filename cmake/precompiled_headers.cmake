# Precompiled headers: the third-party headers that most translation units parse again and again.
# sitmap_precompile(TARGET [beast] [catch]) gives TARGET a header of the standard library,
# nlohmann/json and spdlog, plus Beast/Asio and Catch2 when asked. Measured on the 2-core machine,
# these headers were most of each server and test file's compile time.
function(sitmap_precompile target)
  if(NOT SITMAP_PCH)
    return()
  endif()
  set(headers <algorithm> <chrono> <cstdint> <functional> <map> <memory> <optional> <string>
              <string_view> <unordered_map> <utility> <vector> <nlohmann/json.hpp> <spdlog/spdlog.h>)
  if("beast" IN_LIST ARGN)
    list(APPEND headers <boost/asio/ip/tcp.hpp> <boost/asio/strand.hpp> <boost/beast/core.hpp>
                        <boost/beast/http.hpp>)
  endif()
  if("catch" IN_LIST ARGN)
    list(APPEND headers <catch2/catch.hpp>)
  endif()
  target_precompile_headers(${target} PRIVATE ${headers})
endfunction()
