// Boost.Asio and Boost.Beast in separate-compilation mode: their non-template code is compiled
// here once instead of inline in every file that includes them (server/CMakeLists.txt).
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
