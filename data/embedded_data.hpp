#pragma once
/// The default dataset (the files of data/), compiled into the binary by data/CMakeLists.txt.

#include <string_view>
#include <vector>

namespace sitmap::data {

/// One file of data/: its name and its bytes (static storage, never freed).
struct EmbeddedFile {
    std::string_view name;
    std::string_view bytes;
};

/// Every embedded file, in the order data/CMakeLists.txt lists them.
const std::vector<EmbeddedFile>& embedded_files();

} // namespace sitmap::data
