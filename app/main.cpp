#include "app/cli.hpp"

int main(int argc, char** argv) {
    return sitmap::app::run_cli(argc, argv);
}
