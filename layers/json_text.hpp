#pragma once
/// JSON text appended straight to a std::string: strings escaped, numbers through std::to_chars,
/// no DOM and no allocation beyond the string's own growth. The forms match what nlohmann::json's
/// dump() gives (error_handler_t::replace) and SpatiaLite's AsGeoJSON(geom, 6) coordinates, so
/// answers keep their bytes.

#include <cstdint>
#include <string>
#include <string_view>

namespace sitmap::layers::json_text {

/// `text` as a JSON string with its quotes: `"` `\` and control characters escaped (\b \f \n \r \t,
/// others \u00xx), UTF-8 kept; each invalid UTF-8 sequence becomes U+FFFD as nlohmann::json's
/// error_handler_t::replace does.
void append_string(std::string& out, std::string_view text);

void append_integer(std::string& out, std::int64_t value);

/// A double as nlohmann::json writes it: the shortest form that reads back to the same value,
/// in decimal notation for decimal exponents from -4 to 15 (integral values end in ".0"), else
/// d.ddde+XX; NaN and infinities as null.
void append_double(std::string& out, double value);

/// A finite coordinate as AsGeoJSON(geom, 6) writes it: with 6 decimals rounded as SQLite's
/// printf rounds them (half a unit added, not the exact nearest), trailing zeros and a trailing
/// point trimmed, "-0" as "0".
void append_coordinate(std::string& out, double value);

/// Whether `text` is one JSON value (RFC 8259) whose strings are valid UTF-8 and hold no \u escape
/// of a surrogate, nested at most `max_depth` deep; reads it from `at` and leaves `at` after it.
/// Used to copy stored JSON text as it is only when nlohmann::json would read the same value.
bool skip_value(std::string_view text, std::size_t& at, int max_depth = 64);

/// Reads a JSON string at `at` (on its opening quote) that holds no backslash escape; on success
/// `contents` is the text between the quotes and `at` is after the closing one. False (and `at`
/// unspecified) for anything else, including an escape, a control character or invalid UTF-8.
bool read_plain_string(std::string_view text, std::size_t& at, std::string_view& contents);

/// Advances `at` over JSON whitespace.
void skip_space(std::string_view text, std::size_t& at);

} // namespace sitmap::layers::json_text
