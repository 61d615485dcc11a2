#pragma once
/// The `cursor` of items pages: where the previous page ended, carried by its `next` link, so the
/// next page continues from there (keyset paging) instead of skipping an offset.

#include <cstdint>
#include <string>
#include <string_view>

namespace sitmap::server {

struct PageCursor {
    enum class Kind { fid, ranked };
    Kind kind = Kind::fid;
    std::int64_t fid = 0;       ///< the last feature's fid
    double key = 0;             ///< ranked pages: the last feature's sort key (distance_km or along_km)
    std::int64_t position = 0;  ///< the features the walk returned before the next page
};

/// The cursor as URL-safe text, with a check that catches a changed or truncated one.
std::string encode_cursor(const PageCursor& cursor);

/// The cursor encode_cursor() wrote. Throws sitmap::input_error for any other text.
PageCursor decode_cursor(std::string_view text);

} // namespace sitmap::server
