#include "server/cli.hpp"

int main(int argc, char** argv) {
    return sitmap::server::run_cli(argc, argv);
}
