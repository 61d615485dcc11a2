// libFuzzer target: request parameters parsed as the handlers parse them — the query string
// (percent-decoding, '+', UTF-8), bbox, from/to, type/target/status lists, dates, whole numbers
// (limit, offset) and tile coordinates. Bad input must end in sitmap::input_error; any other
// exception, a crash or a sanitizer report is a bug.

#include "geo/error.hpp"
#include "geo/tile.hpp"
#include "layers/values.hpp"
#include "http/query.hpp"
#include "api/request_helpers.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

template <typename Parse>
void expect_input_error_at_most(Parse parse)
{
    try {
        parse();
    } catch (const sitmap::input_error&) {
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace sitmap::server;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    expect_input_error_at_most([&] {
        const auto query = Query::parse(text);
        expect_input_error_at_most([&] { filter_from(query, true); });
        for (const auto& item : query.items()) {
            const std::string& value = item.second;  // clang 14 cannot capture a structured binding
            expect_input_error_at_most([&] { parse_integer(value, "limit"); });
            (void)sitmap::layers::normalise_datetime(value);
            (void)sitmap::layers::normalise_date(value);
        }
        expect_input_error_at_most([&] {
            (void)sitmap::geo::TileId::make(parse_integer(query.get("z").value_or("0"), "z"),
                                            parse_integer(query.get("x").value_or("0"), "x"),
                                            parse_integer(query.get("y").value_or("0"), "y"));
        });
    });
    expect_input_error_at_most([&] { (void)percent_decode(text, false); });
    return 0;
}
