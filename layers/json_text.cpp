#include "layers/json_text.hpp"

#include <charconv>
#include <cstdint>
#include <cmath>
#include <cstring>

namespace sitmap::layers::json_text {

namespace {

/// The length of the well-formed UTF-8 sequence (Unicode table 3-7) starting at `p[0]` (a byte
/// from 0x80), or 0 with `accepted` set to the bytes read before the one that breaks it (0: the
/// lead byte itself; `n`: the text ends inside the sequence).
std::size_t utf8_sequence(const unsigned char* p, std::size_t n, std::size_t& accepted) {
    const unsigned char lead = p[0];
    std::size_t length = 0;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
        length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        length = 3;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        length = 4;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        accepted = 0;
        return 0;
    }
    for (std::size_t i = 1; i < length; ++i) {
        if (i >= n) {
            accepted = n;
            return 0;
        }
        const unsigned char lo = i == 1 ? low : 0x80, hi = i == 1 ? high : 0xBF;
        if (p[i] < lo || p[i] > hi) {
            accepted = i;
            return 0;
        }
    }
    return length;
}

bool needs_care(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c >= 0x80; }

/// The bytes from `i` on that need no care, 8 at a time (SWAR): stops at the first word holding a
/// control character, a quote, a backslash or a byte from 0x80.
std::size_t skip_plain_words(const unsigned char* p, std::size_t i, std::size_t n) {
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (i + 8 <= n) {
        std::uint64_t word = 0;
        std::memcpy(&word, p + i, 8);
        const std::uint64_t control = (word - ones * 0x20) & ~word;
        const std::uint64_t quote = ((word ^ (ones * '"')) - ones) & ~(word ^ (ones * '"'));
        const std::uint64_t backslash = ((word ^ (ones * '\\')) - ones) & ~(word ^ (ones * '\\'));
        if ((control | quote | backslash | word) & highs) break;
        i += 8;
    }
    return i;
}

void append_escape(std::string& out, unsigned char c) {
    switch (c) {
        case '"': out += "\\\""; return;
        case '\\': out += "\\\\"; return;
        case '\b': out += "\\b"; return;
        case '\f': out += "\\f"; return;
        case '\n': out += "\\n"; return;
        case '\r': out += "\\r"; return;
        case '\t': out += "\\t"; return;
        default: {
            static constexpr char hex[] = "0123456789abcdef";
            const char text[6] = {'\\', 'u', '0', '0', hex[c >> 4U], hex[c & 15U]};
            out.append(text, sizeof text);
        }
    }
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/// A string at `at` (its opening quote): escapes checked, \u of a surrogate refused, UTF-8 checked.
bool skip_string(std::string_view text, std::size_t& at) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    ++at;
    while (at < n) {
        const unsigned char c = p[at];
        if (c == '"') {
            ++at;
            return true;
        }
        if (c < 0x20) return false;
        if (c == '\\') {
            if (at + 1 >= n) return false;
            const char e = text[at + 1];
            if (e == 'u') {
                if (at + 6 > n) return false;
                int code = 0;
                for (std::size_t i = at + 2; i < at + 6; ++i) {
                    const int h = hex_value(text[i]);
                    if (h < 0) return false;
                    code = code * 16 + h;
                }
                if (code >= 0xD800 && code <= 0xDFFF) return false;  // pairs: left to the full parser
                at += 6;
                continue;
            }
            if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') return false;
            at += 2;
            continue;
        }
        if (c >= 0x80) {
            std::size_t accepted = 0;
            const std::size_t length = utf8_sequence(p + at, n - at, accepted);
            if (length == 0) return false;
            at += length;
            continue;
        }
        ++at;
    }
    return false;
}

bool skip_number(std::string_view text, std::size_t& at) {
    const std::size_t start = at, n = text.size();
    bool exponent = false;
    if (at < n && text[at] == '-') ++at;
    if (at >= n || !is_digit(text[at])) return false;
    if (text[at] == '0') {
        ++at;
    } else {
        while (at < n && is_digit(text[at])) ++at;
    }
    if (at < n && text[at] == '.') {
        ++at;
        if (at >= n || !is_digit(text[at])) return false;
        while (at < n && is_digit(text[at])) ++at;
    }
    if (at < n && (text[at] == 'e' || text[at] == 'E')) {
        exponent = true;
        ++at;
        if (at < n && (text[at] == '+' || text[at] == '-')) ++at;
        if (at >= n || !is_digit(text[at])) return false;
        while (at < n && is_digit(text[at])) ++at;
    }
    if (!exponent && at - start <= 300) return true;
    // A number that may not fit a double (1e999): nlohmann::json refuses it.
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data() + start, text.data() + at, value);
    return ec == std::errc() && end == text.data() + at && std::isfinite(value);
}

bool skip_literal(std::string_view text, std::size_t& at, std::string_view literal) {
    if (text.substr(at, literal.size()) != literal) return false;
    at += literal.size();
    return true;
}

bool skip_container(std::string_view text, std::size_t& at, int depth, char close) {
    ++at;
    skip_space(text, at);
    if (at < text.size() && text[at] == close) {
        ++at;
        return true;
    }
    while (true) {
        if (close == '}') {
            if (at >= text.size() || text[at] != '"' || !skip_string(text, at)) return false;
            skip_space(text, at);
            if (at >= text.size() || text[at] != ':') return false;
            ++at;
            skip_space(text, at);
        }
        if (!skip_value(text, at, depth - 1)) return false;
        skip_space(text, at);
        if (at >= text.size()) return false;
        if (text[at] == close) {
            ++at;
            return true;
        }
        if (text[at] != ',') return false;
        ++at;
        skip_space(text, at);
    }
}

} // namespace

void append_string(std::string& out, std::string_view text) {
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    out += '"';
    std::size_t plain = 0;  // the start of the run of bytes copied as they are
    std::size_t i = 0;
    while (i < n) {
        i = skip_plain_words(p, i, n);
        if (i >= n) break;
        const unsigned char c = p[i];
        if (!needs_care(c)) {
            ++i;
            continue;
        }
        if (c >= 0x80) {
            std::size_t accepted = 0;
            const std::size_t length = utf8_sequence(p + i, n - i, accepted);
            if (length) {
                i += length;
                continue;
            }
            out.append(text.data() + plain, i - plain);
            out += "\xEF\xBF\xBD";
            i += accepted == 0 ? 1 : std::min(accepted, n - i);  // the breaking byte is read again
            plain = i;
            continue;
        }
        out.append(text.data() + plain, i - plain);
        append_escape(out, c);
        plain = ++i;
    }
    out.append(text.data() + plain, n - plain);
    out += '"';
}

void append_integer(std::string& out, std::int64_t value) {
    char text[24];
    const auto result = std::to_chars(text, text + sizeof text, value);
    out.append(text, static_cast<std::size_t>(result.ptr - text));
}

void append_double(std::string& out, double value) {
    if (!std::isfinite(value)) {
        out += "null";
        return;
    }
    if (std::signbit(value)) {
        out += '-';
        value = -value;
    }
    if (value == 0) {
        out += "0.0";
        return;
    }
    // The shortest digits from to_chars (scientific: d.ddde±x), laid out as nlohmann's format_buffer.
    char sci[32];
    const char* end = std::to_chars(sci, sci + sizeof sci, value, std::chars_format::scientific).ptr;
    const char* e = static_cast<const char*>(std::memchr(sci, 'e', static_cast<std::size_t>(end - sci)));
    char digits[24];
    int k = 0;
    for (const char* c = sci; c < e; ++c) {
        if (*c != '.') digits[k++] = *c;
    }
    int exponent = 0;
    std::from_chars(e + 1 + (e[1] == '+'), end, exponent);
    const int point = exponent + 1;  // the decimal point's position after the first digit
    constexpr int min_exp = -4, max_exp = 15;
    if (k <= point && point <= max_exp) {
        out.append(digits, static_cast<std::size_t>(k));
        out.append(static_cast<std::size_t>(point - k), '0');
        out += ".0";
    } else if (0 < point && point <= max_exp) {
        out.append(digits, static_cast<std::size_t>(point));
        out += '.';
        out.append(digits + point, static_cast<std::size_t>(k - point));
    } else if (min_exp < point && point <= 0) {
        out += "0.";
        out.append(static_cast<std::size_t>(-point), '0');
        out.append(digits, static_cast<std::size_t>(k));
    } else {
        out += digits[0];
        if (k > 1) {
            out += '.';
            out.append(digits + 1, static_cast<std::size_t>(k - 1));
        }
        out += exponent < 0 ? "e-" : "e+";
        const int magnitude = std::abs(exponent);
        if (magnitude < 10) out += '0';
        append_integer(out, magnitude);
    }
}

void append_coordinate(std::string& out, double value) {
    // SQLite's printf("%.6f") (3.40, which AsGeoJSON calls): half a unit of the last decimal
    // added (with value * 3e-16 more for small exponents), then the digits taken one by one in
    // long double, 16 significant at most; SpatiaLite then trims the trailing zeros.
    constexpr int precision = 6;
    char text[400];
    char* p = text;
    long double real = value;
    if (real < 0) {
        real = -real;
        *p++ = '-';
    }
    double rounder = 5.0e-07;
    std::uint64_t bits = 0;
    const double positive = static_cast<double>(real);
    std::memcpy(&bits, &positive, sizeof bits);
    const int binary_exponent = -1023 + static_cast<int>((bits >> 52U) & 0x7FFU);
    if (precision + binary_exponent / 3 < 15) rounder = static_cast<double>(rounder + real * 3e-16);
    real += rounder;
    int exponent = 0;
    long double scale = 1.0;
    while (real >= 1e100 * scale && exponent <= 350) {
        scale *= 1e100;
        exponent += 100;
    }
    while (real >= 1e10 * scale && exponent <= 350) {
        scale *= 1e10;
        exponent += 10;
    }
    while (real >= 10.0 * scale && exponent <= 350) {
        scale *= 10.0;
        exponent++;
    }
    real /= scale;
    while (real < 1e-8) {
        real *= 1e8;
        exponent -= 8;
    }
    while (real < 1.0) {
        real *= 10.0;
        exponent--;
    }
    int significant = 16;
    auto digit = [&] {
        if (significant <= 0) return '0';
        --significant;
        const int d = static_cast<int>(real);
        real = (real - d) * 10.0;
        return static_cast<char>('0' + d);
    };
    int e = exponent;
    if (e < 0) {
        *p++ = '0';
    } else {
        for (; e >= 0 && p < text + 360; e--) *p++ = digit();
    }
    *p++ = '.';
    int decimals = precision;
    for (e++; e < 0; decimals--, e++) *p++ = '0';
    while (decimals-- > 0) *p++ = digit();
    while (p[-1] == '0') --p;
    if (p[-1] == '.') --p;
    if (p - text == 2 && text[0] == '-' && text[1] == '0') {
        out += '0';
        return;
    }
    out.append(text, static_cast<std::size_t>(p - text));
}

void skip_space(std::string_view text, std::size_t& at) {
    while (at < text.size() && (text[at] == ' ' || text[at] == '\t' || text[at] == '\n' || text[at] == '\r')) ++at;
}

bool skip_value(std::string_view text, std::size_t& at, int max_depth) {
    if (at >= text.size() || max_depth <= 0) return false;
    switch (text[at]) {
        case '"': return skip_string(text, at);
        case '{': return skip_container(text, at, max_depth, '}');
        case '[': return skip_container(text, at, max_depth, ']');
        case 't': return skip_literal(text, at, "true");
        case 'f': return skip_literal(text, at, "false");
        case 'n': return skip_literal(text, at, "null");
        default: return skip_number(text, at);
    }
}

bool read_plain_string(std::string_view text, std::size_t& at, std::string_view& contents) {
    if (at >= text.size() || text[at] != '"') return false;
    const std::size_t start = at + 1;
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    for (std::size_t i = start; i < text.size();) {
        const unsigned char c = p[i];
        if (c == '"') {
            contents = text.substr(start, i - start);
            at = i + 1;
            return true;
        }
        if (c < 0x20 || c == '\\') return false;
        if (c >= 0x80) {
            std::size_t accepted = 0;
            const std::size_t length = utf8_sequence(p + i, text.size() - i, accepted);
            if (length == 0) return false;
            i += length;
            continue;
        }
        ++i;
    }
    return false;
}

} // namespace sitmap::layers::json_text
