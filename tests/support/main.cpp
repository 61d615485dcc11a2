// The tests' main: the paths the tests need come from the build (tests/CMakeLists.txt) and are
// put in the environment unless the caller set them already, so a test program run by hand works
// the same as under ctest.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdlib>

int main(int argc, char* argv[]) {
    setenv("SITMAP_TEST_DATA", SITMAP_TEST_DATA_DIR, 0);
    setenv("SITMAP_SHARED_DATA", SITMAP_SHARED_DATA_DIR, 0);
    setenv("SITMAP_BINARY", SITMAP_BINARY_PATH, 0);
    setenv("SITMAP_SOURCE_DIR", SITMAP_SOURCE_DIR_PATH, 0);
    return Catch::Session().run(argc, argv);
}
