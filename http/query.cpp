#include "http/query.hpp"

#include "geo/error.hpp"

#include <uriparser/Uri.h>

#include <cctype>
#include <memory>

namespace sitmap::server {

namespace {

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

bool is_utf8(std::string_view text) noexcept
{
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        std::size_t length = 0;
        unsigned int code = 0;
        if (c < 0x80) {
            ++i;
            continue;
        }
        if ((c & 0xE0U) == 0xC0U) {
            length = 2;
            code = c & 0x1FU;
        } else if ((c & 0xF0U) == 0xE0U) {
            length = 3;
            code = c & 0x0FU;
        } else if ((c & 0xF8U) == 0xF0U) {
            length = 4;
            code = c & 0x07U;
        } else {
            return false;
        }
        if (i + length > text.size()) {
            return false;
        }
        for (std::size_t k = 1; k < length; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0U) != 0x80U) {
                return false;
            }
            code = (code << 6U) | (next & 0x3FU);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        const unsigned int minimum = length == 2 ? 0x80U : length == 3 ? 0x800U : 0x10000U;
        if (code < minimum || code > 0x10FFFFU || (code >= 0xD800U && code <= 0xDFFFU)) {
            return false;
        }
        i += length;
    }
    return true;
}

// uriparser leaves a malformed escape as it is and cuts a value at an encoded NUL, so the
// escapes are checked here first and such input is refused rather than silently altered.
void check_escapes(std::string_view text)
{
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\0') {
            throw input_error("the request target contains a NUL byte");
        }
        if (text[i] != '%') {
            continue;
        }
        if (i + 2 >= text.size()) {
            throw input_error("malformed percent-encoding in '" + std::string(text) + "'");
        }
        const int high = hex_value(text[i + 1]);
        const int low = hex_value(text[i + 2]);
        if (high < 0 || low < 0) {
            throw input_error("malformed percent-encoding in '" + std::string(text) + "'");
        }
        if (high == 0 && low == 0) {
            throw input_error("the request target contains an encoded NUL byte (%00)");
        }
        i += 2;
    }
}

struct QueryListDeleter {
    void operator()(UriQueryListA* list) const noexcept { uriFreeQueryListA(list); }
};

} // namespace

std::string percent_decode(std::string_view text, bool plus_as_space)
{
    check_escapes(text);
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '%') {
            out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
            i += 2;
        } else if (c == '+' && plus_as_space) {
            out.push_back(' ');
        } else {
            out.push_back(c);
        }
    }
    if (!is_utf8(out)) {
        throw input_error("the request target decodes to bytes that are not UTF-8");
    }
    return out;
}

Query Query::parse(std::string_view query_string)
{
    Query query;
    if (query_string.empty()) {
        return query;
    }
    check_escapes(query_string);

    UriQueryListA* raw = nullptr;
    int count = 0;
    const int rc = uriDissectQueryMallocExA(&raw, &count, query_string.data(),
                                            query_string.data() + query_string.size(), URI_TRUE,
                                            URI_BR_DONT_TOUCH);
    std::unique_ptr<UriQueryListA, QueryListDeleter> list{raw};
    if (rc != URI_SUCCESS) {
        throw input_error("cannot parse the query string '" + std::string(query_string) + "'");
    }
    for (const UriQueryListA* item = list.get(); item != nullptr; item = item->next) {
        std::string key = item->key != nullptr ? item->key : "";
        std::string value = item->value != nullptr ? item->value : "";
        if (!is_utf8(key) || !is_utf8(value)) {
            throw input_error("the query string decodes to bytes that are not UTF-8");
        }
        // "&&" or a trailing '&' give empty items; they carry nothing.
        if (key.empty() && value.empty()) {
            continue;
        }
        query.m_items.emplace_back(std::move(key), std::move(value));
    }
    return query;
}

bool Query::has(std::string_view key) const
{
    for (const auto& [k, v] : m_items) {
        if (k == key) {
            return true;
        }
    }
    return false;
}

std::optional<std::string> Query::get(std::string_view key) const
{
    for (const auto& [k, v] : m_items) {
        if (k == key) {
            return v;
        }
    }
    return std::nullopt;
}

std::vector<std::string> Query::get_all(std::string_view key) const
{
    std::vector<std::string> values;
    for (const auto& [k, v] : m_items) {
        if (k == key) {
            values.push_back(v);
        }
    }
    return values;
}

std::string percent_encode(std::string_view text, std::string_view also_keep)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || also_keep.find(ch) != std::string_view::npos) {
            out += ch;
        } else {
            out += '%';
            out += hex[c >> 4U];
            out += hex[c & 15U];
        }
    }
    return out;
}

} // namespace sitmap::server
