#pragma once
/// Query strings and percent-decoding of request targets.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sitmap::server {

/// Decodes %XX escapes (and '+' as a space if `plus_as_space`).
/// The result is valid UTF-8 without NUL bytes.
/// Throws sitmap::input_error on a malformed escape ("%2", "%zz"), an encoded NUL ("%00"),
/// or bytes that are not UTF-8.
std::string percent_decode(std::string_view text, bool plus_as_space = false);

/// Escapes every byte but RFC 3986's unreserved characters (letters, digits, "-._~") and those
/// of `also_keep` as %XX, for a path segment or a query value.
std::string percent_encode(std::string_view text, std::string_view also_keep = {});

/// The parameters of a query string (`a=1&b=x%20y&b=z`), in order, decoded, repeated keys kept.
/// Splitting and decoding use uriparser; '+' is a space; "key" without '=' has the value "".
class Query {
public:
    /// Parses the part after '?' (without the '?').
    /// Throws sitmap::input_error on a malformed escape, an encoded NUL or non-UTF-8 bytes.
    static Query parse(std::string_view query_string);

    /// True if the key appears at least once.
    bool has(std::string_view key) const;

    /// The first value of the key, if any.
    std::optional<std::string> get(std::string_view key) const;

    /// Every value of the key, in order of appearance.
    std::vector<std::string> get_all(std::string_view key) const;

    /// Every (key, value) pair in order of appearance.
    const std::vector<std::pair<std::string, std::string>>& items() const noexcept { return m_items; }

    bool empty() const noexcept { return m_items.empty(); }

private:
    std::vector<std::pair<std::string, std::string>> m_items;
};

} // namespace sitmap::server
