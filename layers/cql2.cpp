#include "layers/cql2.hpp"

#include "geo/error.hpp"
#include "geo/geodesy.hpp"
#include "geo/geos.hpp"
#include "layers/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

namespace sitmap::layers::cql2 {

namespace {

constexpr std::size_t max_length = 20000;
constexpr int max_depth = 64;

enum class TokenKind { identifier, string, number, symbol, end };

struct Token {
    TokenKind kind = TokenKind::end;
    std::string text;       // identifiers upper-cased in `upper`; strings unescaped
    std::string upper;
    std::size_t position = 0;  // 1-based
    std::size_t offset = 0;    // 0-based, into the filter text
};

std::string to_upper(std::string_view text) {
    std::string out(text);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

[[noreturn]] void fail(std::size_t position, const std::string& message) {
    throw input_error("filter: at character " + std::to_string(position) + ": " + message);
}

std::vector<Token> tokenize(std::string_view text) {
    std::vector<Token> tokens;
    std::size_t i = 0;
    auto is_ident = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.'; };
    while (true) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
        Token t;
        t.position = i + 1;
        t.offset = i;
        if (i == text.size()) {
            tokens.push_back(t);
            return tokens;
        }
        const char c = text[i];
        if (c == '\'') {
            t.kind = TokenKind::string;
            ++i;
            while (true) {
                if (i == text.size()) fail(t.position, "unterminated string");
                if (text[i] == '\'') {
                    if (i + 1 < text.size() && text[i + 1] == '\'') {
                        t.text += '\'';
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                t.text += text[i++];
            }
        } else if (c == '"') {
            t.kind = TokenKind::identifier;  // a quoted property name
            const auto close = text.find('"', i + 1);
            if (close == std::string_view::npos) fail(t.position, "unterminated quoted name");
            t.text = std::string(text.substr(i + 1, close - i - 1));
            t.upper = "\"";  // never a keyword
            i = close + 1;
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   ((c == '-' || c == '+' || c == '.') && i + 1 < text.size() &&
                    (std::isdigit(static_cast<unsigned char>(text[i + 1])) || text[i + 1] == '.'))) {
            t.kind = TokenKind::number;
            std::size_t j = i + 1;
            while (j < text.size() && (std::isdigit(static_cast<unsigned char>(text[j])) || text[j] == '.' ||
                                       text[j] == 'e' || text[j] == 'E' ||
                                       ((text[j] == '-' || text[j] == '+') && (text[j - 1] == 'e' || text[j - 1] == 'E')))) {
                ++j;
            }
            t.text = std::string(text.substr(i, j - i));
            i = j;
        } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            t.kind = TokenKind::identifier;
            std::size_t j = i;
            while (j < text.size() && is_ident(text[j])) ++j;
            t.text = std::string(text.substr(i, j - i));
            t.upper = to_upper(t.text);
            i = j;
        } else {
            t.kind = TokenKind::symbol;
            for (const char* op : {"<>", "<=", ">=", "=", "<", ">", "(", ")", ","}) {
                if (text.substr(i, std::char_traits<char>::length(op)) == op) {
                    t.text = op;
                    break;
                }
            }
            if (t.text.empty()) fail(t.position, std::string("unexpected character '") + c + "'");
            i += t.text.size();
        }
        tokens.push_back(std::move(t));
    }
}

class Parser {
public:
    Parser(std::string_view text, const Layer& layer) : m_text(text), m_layer(layer), m_tokens(tokenize(text)) {}

    Node parse_all() {
        Node node = parse_or(0);
        if (peek().kind != TokenKind::end) fail(peek().position, "unexpected '" + peek().text + "'");
        return node;
    }

private:
    const Token& peek(std::size_t ahead = 0) const { return m_tokens[std::min(m_at + ahead, m_tokens.size() - 1)]; }
    const Token& take() {
        const Token& t = m_tokens[m_at];
        if (t.kind != TokenKind::end) ++m_at;
        return t;
    }
    bool keyword(const char* word, std::size_t ahead = 0) const {
        return peek(ahead).kind == TokenKind::identifier && peek(ahead).upper == word;
    }
    bool accept_keyword(const char* word) {
        if (!keyword(word)) return false;
        take();
        return true;
    }
    bool symbol(const char* s) const { return peek().kind == TokenKind::symbol && peek().text == s; }
    void expect_symbol(const char* s) {
        if (!symbol(s)) fail(peek().position, std::string("expected '") + s + "'" + found());
        take();
    }
    std::string found() const {
        return peek().kind == TokenKind::end ? ", found the end of the filter" : ", found '" + peek().text + "'";
    }

    Node parse_or(int depth) {
        if (depth > max_depth) fail(peek().position, "the filter is nested too deeply");
        return parse_chain(depth, "OR", Node::Kind::or_, &Parser::parse_and);
    }

    Node parse_and(int depth) { return parse_chain(depth, "AND", Node::Kind::and_, &Parser::parse_not); }

    /// operand (KEYWORD operand)*: one node with every operand as a child, or the lone operand.
    Node parse_chain(int depth, const char* word, Node::Kind kind, Node (Parser::*operand)(int)) {
        Node left = (this->*operand)(depth);
        if (!keyword(word)) return left;
        Node node;
        node.kind = kind;
        node.position = left.position;
        node.children.push_back(std::move(left));
        while (accept_keyword(word)) node.children.push_back((this->*operand)(depth));
        return node;
    }

    Node parse_not(int depth) {
        if (depth > max_depth) fail(peek().position, "the filter is nested too deeply");
        if (keyword("NOT")) {
            Node node;
            node.kind = Node::Kind::not_;
            node.position = take().position;
            node.children.push_back(parse_not(depth + 1));
            return node;
        }
        return parse_primary(depth);
    }

    Node parse_primary(int depth) {
        if (symbol("(")) {
            take();
            Node inner = parse_or(depth + 1);
            expect_symbol(")");
            return inner;
        }
        if (keyword("S_INTERSECTS") || keyword("S_DWITHIN")) return parse_spatial();
        return parse_predicate();
    }

    // A property name: a column of the layer or "id"; anything else is refused by name.
    std::pair<std::string, const Column*> parse_property() {
        const Token& t = peek();
        if (t.kind != TokenKind::identifier) fail(t.position, "expected a property name" + found());
        take();
        if (t.text == "id") return {"id", nullptr};
        if (const Column* c = m_layer.column(t.text)) return {c->name, c};
        std::string names = "id";
        for (const auto& c : m_layer.columns) names += ", " + c.name;
        fail(t.position, "unknown property '" + t.text + "' (queryables of " + m_layer.name + ": " + names + ")");
    }

    Node parse_predicate() {
        Node node;
        node.position = peek().position;
        const auto [property, column] = parse_property();
        node.property = property;
        node.negated = accept_keyword("NOT");
        if (accept_keyword("LIKE")) {
            node.kind = Node::Kind::like;
            if (column && column->type != ColumnType::text) fail(node.position, "LIKE applies to text properties");
            const Token& pattern = peek();
            if (pattern.kind != TokenKind::string) fail(pattern.position, "expected a 'pattern'" + found());
            node.values.emplace_back(take().text);
            return node;
        }
        if (accept_keyword("BETWEEN")) {
            node.kind = Node::Kind::between;
            node.values.push_back(parse_literal(column, node));
            if (!accept_keyword("AND")) fail(peek().position, "expected AND in BETWEEN" + found());
            node.values.push_back(parse_literal(column, node));
            return node;
        }
        if (accept_keyword("IN")) {
            node.kind = Node::Kind::in;
            expect_symbol("(");
            node.values.push_back(parse_literal(column, node));
            while (symbol(",")) {
                take();
                node.values.push_back(parse_literal(column, node));
            }
            expect_symbol(")");
            return node;
        }
        if (node.negated) fail(peek().position, "expected LIKE, BETWEEN or IN after NOT" + found());
        if (accept_keyword("IS")) {
            node.kind = Node::Kind::is_null;
            node.negated = accept_keyword("NOT");
            if (!accept_keyword("NULL")) fail(peek().position, "expected NULL" + found());
            return node;
        }
        node.kind = Node::Kind::compare;
        const Token& op = peek();
        if (op.kind != TokenKind::symbol || op.text == "(" || op.text == ")" || op.text == ",") {
            fail(op.position, "expected a comparison (=, <>, <, >, <=, >=), LIKE, BETWEEN, IN or IS" + found());
        }
        node.op = take().text;
        node.values.push_back(parse_literal(column, node));
        return node;
    }

    // A literal typed against the column it is compared with.
    Literal parse_literal(const Column* column, Node& node) {
        const Token& t = peek();
        const ColumnType type = column ? column->type : ColumnType::text;
        const std::string what = "'" + node.property + "'";
        if (t.kind == TokenKind::number) {
            take();
            if (type != ColumnType::integer && type != ColumnType::real) fail(t.position, what + " is not a number");
            double value = 0;
            const auto [end, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
            if (ec != std::errc() || end != t.text.data() + t.text.size() || !std::isfinite(value)) {
                fail(t.position, "'" + t.text + "' is not a number");
            }
            if (type == ColumnType::integer && value == std::floor(value) && std::abs(value) < 9e15) {
                return static_cast<std::int64_t>(value);
            }
            return value;
        }
        if (keyword("TRUE") || keyword("FALSE")) {
            const bool value = take().upper == "TRUE";
            if (type != ColumnType::boolean) fail(t.position, what + " is not a boolean");
            return value;
        }
        if (keyword("DATE") || keyword("TIMESTAMP")) {
            const bool date = take().upper == "DATE";
            expect_symbol("(");
            const Token& s = peek();
            if (s.kind != TokenKind::string) fail(s.position, "expected a quoted date" + found());
            take();
            expect_symbol(")");
            if (type != ColumnType::date && type != ColumnType::datetime) fail(t.position, what + " is not a date");
            return temporal(s, type, date, node);
        }
        if (t.kind == TokenKind::string) {
            take();
            if (type == ColumnType::date || type == ColumnType::datetime) {
                return temporal(t, type, t.text.size() == 10, node);
            }
            if (type != ColumnType::text) fail(t.position, what + " is not text");
            if (column && !column->allowed.empty() &&
                std::find(column->allowed.begin(), column->allowed.end(), t.text) == column->allowed.end()) {
                std::string allowed;
                for (const auto& a : column->allowed) allowed += (allowed.empty() ? "" : ", ") + a;
                fail(t.position, "'" + t.text + "' is not a value of " + what + " (one of: " + allowed + ")");
            }
            return t.text;
        }
        fail(t.position, "expected a value" + found());
    }

    Literal temporal(const Token& t, ColumnType type, bool date, Node& node) {
        if (type == ColumnType::date || date) {
            const auto day = normalise_date(t.text);
            if (!day || (date && t.text.size() != 10)) fail(t.position, "'" + t.text + "' is not a date YYYY-MM-DD");
            if (type == ColumnType::datetime) node.date_only = true;  // compare the day of the date-time
            return *day;
        }
        const auto instant = normalise_datetime(t.text);
        if (!instant) fail(t.position, "'" + t.text + "' is not an ISO 8601 date-time");
        return *instant;
    }

    Node parse_spatial() {
        Node node;
        node.position = peek().position;
        node.kind = take().upper == "S_INTERSECTS" ? Node::Kind::s_intersects : Node::Kind::s_dwithin;
        expect_symbol("(");
        const Token& g = peek();
        if (g.kind != TokenKind::identifier || (g.text != "geometry" && g.text != "geom")) {
            fail(g.position, "expected the property 'geometry'" + found());
        }
        take();
        node.property = "geom";
        expect_symbol(",");
        parse_geometry(node);
        if (node.kind == Node::Kind::s_dwithin) {
            expect_symbol(",");
            const Token& d = peek();
            if (d.kind != TokenKind::number) fail(d.position, "expected a distance" + found());
            take();
            double distance = 0;
            const auto [end, ec] = std::from_chars(d.text.data(), d.text.data() + d.text.size(), distance);
            if (ec != std::errc() || end != d.text.data() + d.text.size() || !(distance >= 0) || distance > 2e7) {
                fail(d.position, "expected a distance from 0 to 20000 km");
            }
            double unit = 0.001;  // meters
            if (symbol(",")) {
                take();
                const Token& u = peek();
                if (keyword("METERS") || keyword("METRES") || keyword("M")) unit = 0.001;
                else if (keyword("KILOMETERS") || keyword("KILOMETRES") || keyword("KM")) unit = 1;
                else fail(u.position, "expected meters or kilometers" + found());
                take();
            }
            node.distance_km = distance * unit;
            if (node.distance_km > 20000) fail(d.position, "expected a distance from 0 to 20000 km");
        }
        expect_symbol(")");
        return node;
    }

    // WKT or BBOX(...): the text up to the matching parenthesis, checked by GEOS.
    void parse_geometry(Node& node) {
        const Token& start = peek();
        static const char* types[] = {"POINT", "LINESTRING", "POLYGON", "MULTIPOINT", "MULTILINESTRING",
                                      "MULTIPOLYGON", "BBOX"};
        if (start.kind != TokenKind::identifier ||
            std::none_of(std::begin(types), std::end(types), [&](const char* t) { return start.upper == t; })) {
            fail(start.position, "expected a geometry: POINT, LINESTRING, POLYGON, MULTI... or BBOX" + found());
        }
        take();
        if (start.upper == "BBOX") {
            expect_symbol("(");
            std::array<double, 4> box{};
            for (std::size_t i = 0; i < 4; ++i) {
                if (i) expect_symbol(",");
                const Token& n = peek();
                if (n.kind != TokenKind::number) fail(n.position, "expected a number" + found());
                take();
                const auto [end, ec] = std::from_chars(n.text.data(), n.text.data() + n.text.size(), box[i]);
                if (ec != std::errc() || end != n.text.data() + n.text.size()) fail(n.position, "not a number");
            }
            expect_symbol(")");
            if (box[0] > box[2] || box[1] > box[3] || box[0] < -180 || box[2] > 180 || box[1] < -90 || box[3] > 90) {
                fail(start.position, "BBOX: expected minlon <= maxlon in [-180, 180] and minlat <= maxlat in [-90, 90]");
            }
            node.envelope = box;
            auto num = [](double v) { return std::to_string(v); };
            node.wkt = "POLYGON((" + num(box[0]) + " " + num(box[1]) + "," + num(box[2]) + " " + num(box[1]) + "," +
                       num(box[2]) + " " + num(box[3]) + "," + num(box[0]) + " " + num(box[3]) + "," + num(box[0]) +
                       " " + num(box[1]) + "))";
            return;
        }
        int open = 0;
        while (true) {
            const Token& t = peek();
            if (t.kind == TokenKind::end) fail(start.position, "unterminated geometry");
            if (t.kind == TokenKind::symbol && t.text == "(") ++open;
            if (t.kind == TokenKind::symbol && t.text == ")") --open;
            if (t.kind != TokenKind::symbol && t.kind != TokenKind::number &&
                !(t.kind == TokenKind::identifier && t.upper == "EMPTY")) {
                fail(t.position, "unexpected '" + t.text + "' in a geometry");
            }
            if (open < 0) fail(t.position, "unbalanced ')' in a geometry");
            take();
            if (open == 0) break;
        }
        const Token& last = m_tokens[m_at - 1];
        const std::string text(m_text.substr(start.offset, last.offset + last.text.size() - start.offset));
        geo::Geometry geometry;
        try {
            geometry = geo::Geometry::from_wkt(text);
        } catch (const input_error&) {
            fail(start.position, "'" + text + "' is not a valid WKT geometry");
        }
        if (geometry.empty()) fail(start.position, "the geometry is empty");
        auto* context = geo::geos_context();
        double xmin = 0, ymin = 0, xmax = 0, ymax = 0;
        GEOSGeom_getXMin_r(context, geometry.get(), &xmin);
        GEOSGeom_getYMin_r(context, geometry.get(), &ymin);
        GEOSGeom_getXMax_r(context, geometry.get(), &xmax);
        GEOSGeom_getYMax_r(context, geometry.get(), &ymax);
        if (xmin < -180 || xmax > 180 || ymin < -90 || ymax > 90) {
            fail(start.position, "coordinates must be lon/lat (WGS84) within [-180, 180] and [-90, 90]");
        }
        node.envelope = {xmin, ymin, xmax, ymax};
        node.point = geometry.type_id() == GEOS_POINT;
        node.wkt = geometry.wkt(9);
    }

    std::string_view m_text;
    const Layer& m_layer;
    std::vector<Token> m_tokens;
    std::size_t m_at = 0;
};

void bind_literal(Condition& c, const Literal& value) {
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, bool>) c.params.emplace_back(std::int64_t{v ? 1 : 0});
            else if constexpr (std::is_same_v<T, std::monostate>) c.params.emplace_back(std::string());
            else c.params.emplace_back(v);
        },
        value);
}

// The SQL of one node, without a leading AND.
void node_sql(const Node& node, const Layer& layer, Condition& c) {
    const std::string column = node.date_only ? "substr(t." + node.property + ", 1, 10)" : "t." + node.property;
    const std::string maybe_not = node.negated ? "NOT " : "";
    switch (node.kind) {
        case Node::Kind::and_:
        case Node::Kind::or_:
            c.sql += "(";
            for (std::size_t i = 0; i < node.children.size(); ++i) {
                if (i) c.sql += node.kind == Node::Kind::and_ ? " AND " : " OR ";
                node_sql(node.children[i], layer, c);
            }
            c.sql += ")";
            return;
        case Node::Kind::not_:
            c.sql += "(NOT ";
            node_sql(node.children.front(), layer, c);
            c.sql += ")";
            return;
        case Node::Kind::compare:
            c.sql += "(" + column + " " + node.op + " ?)";
            bind_literal(c, node.values[0]);
            return;
        case Node::Kind::like:
            c.sql += "(" + column + " " + maybe_not + "LIKE ? ESCAPE '\\')";
            bind_literal(c, node.values[0]);
            return;
        case Node::Kind::between:
            c.sql += "(" + column + " " + maybe_not + "BETWEEN ? AND ?)";
            bind_literal(c, node.values[0]);
            bind_literal(c, node.values[1]);
            return;
        case Node::Kind::in:
            c.sql += "(" + column + " " + maybe_not + "IN (";
            for (std::size_t i = 0; i < node.values.size(); ++i) {
                c.sql += i ? ",?" : "?";
                bind_literal(c, node.values[i]);
            }
            c.sql += "))";
            return;
        case Node::Kind::is_null:
            c.sql += "(" + column + (node.negated ? " IS NOT NULL)" : " IS NULL)");
            return;
        case Node::Kind::s_intersects:
        case Node::Kind::s_dwithin: {
            std::array<double, 4> box = node.envelope;
            if (node.kind == Node::Kind::s_dwithin) {  // widen by the distance at every corner
                for (double lon : {node.envelope[0], node.envelope[2]}) {
                    for (double lat : {node.envelope[1], node.envelope[3]}) {
                        const auto b = geo::radius_bbox({lon, lat}, std::max(node.distance_km, 1e-9));
                        box = {std::min(box[0], b[0]), std::min(box[1], b[1]), std::max(box[2], b[2]),
                               std::max(box[3], b[3])};
                    }
                }
            }
            Condition prefilter = bbox_condition(layer, {box});
            c.sql += "(" + prefilter.sql.substr(5);  // drop the leading " AND "
            c.params.insert(c.params.end(), prefilter.params.begin(), prefilter.params.end());
            if (node.kind == Node::Kind::s_intersects) {
                c.sql += " AND ST_Intersects(t.geom, GeomFromText(?, 4326)) = 1)";
                c.params.emplace_back(node.wkt);
            } else if (node.point && layer.geometry == GeometryKind::point) {
                c.sql += " AND geodesic_km(?, ?, X(t.geom), Y(t.geom)) <= ?)";
                c.params.emplace_back(node.envelope[0]);
                c.params.emplace_back(node.envelope[1]);
                c.params.emplace_back(node.distance_km);
            } else {
                c.sql += " AND ST_Distance(t.geom, GeomFromText(?, 4326), 1) <= ?)";  // metres on the ellipsoid
                c.params.emplace_back(node.wkt);
                c.params.emplace_back(node.distance_km * 1000);
            }
            return;
        }
    }
}

} // namespace

Node parse(std::string_view text, const Layer& layer) {
    if (text.size() > max_length) throw input_error("filter: longer than 20000 characters");
    return Parser(text, layer).parse_all();
}

Condition to_sql(const Node& node, const Layer& layer) {
    Condition c;
    c.sql = " AND ";
    node_sql(node, layer, c);
    return c;
}

Condition filter_condition(std::string_view text, const Layer& layer) { return to_sql(parse(text, layer), layer); }

} // namespace sitmap::layers::cql2
