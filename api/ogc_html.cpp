#include "api/ogc_html.hpp"

#include "geo/error.hpp"

#include <algorithm>

namespace sitmap::server {

namespace {

using nlohmann::json;

std::string scalar_text(const json& value) {
    return value.is_string() ? value.get<std::string>() : value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void render(std::string& out, const json& value, int depth);

void render_features(std::string& out, const json& features) {
    std::vector<std::string> columns;
    for (const auto& f : features) {
        if (!f.contains("properties") || !f["properties"].is_object()) continue;
        for (const auto& [key, v] : f["properties"].items()) {
            if (std::find(columns.begin(), columns.end(), key) == columns.end()) columns.push_back(key);
        }
    }
    out += "<table><tr><th>id</th>";
    for (const auto& c : columns) out += "<th>" + html_escape(c) + "</th>";
    out += "<th>geometry</th></tr>\n";
    for (const auto& f : features) {
        out += "<tr><td>" + html_escape(f.contains("id") ? scalar_text(f["id"]) : "") + "</td>";
        for (const auto& c : columns) {
            const auto& p = f.value("properties", json::object());
            out += "<td>" + html_escape(p.contains(c) && !p[c].is_null() ? scalar_text(p[c]) : "") + "</td>";
        }
        const auto& g = f.value("geometry", json());
        out += "<td>" + html_escape(g.is_object() ? g.value("type", "") : "") + "</td></tr>\n";
    }
    out += "</table>\n";
}

void render(std::string& out, const json& value, int depth) {
    if (depth > 20) {
        out += html_escape(value.dump());
        return;
    }
    if (value.is_object()) {
        if (value.contains("href") && value["href"].is_string()) {
            const std::string href = value["href"].get<std::string>();
            out += "<a href=\"" + html_escape(href) + "\">" +
                   html_escape(value.contains("title") ? scalar_text(value["title"]) : href) + "</a>";
            if (value.contains("rel")) out += " (" + html_escape(scalar_text(value["rel"])) + ")";
            return;
        }
        out += "<dl>\n";
        for (const auto& [key, v] : value.items()) {
            out += "<dt>" + html_escape(key) + "</dt><dd>";
            if (key == "features" && v.is_array()) render_features(out, v);
            else render(out, v, depth + 1);
            out += "</dd>\n";
        }
        out += "</dl>\n";
    } else if (value.is_array()) {
        out += "<ul>\n";
        for (const auto& v : value) {
            out += "<li>";
            render(out, v, depth + 1);
            out += "</li>\n";
        }
        out += "</ul>\n";
    } else {
        out += html_escape(scalar_text(value));
    }
}

} // namespace

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string requested_format(const RouteContext& ctx, std::initializer_list<std::string_view> allowed,
                             std::string_view fallback) {
    if (auto f = ctx.query.get("f")) {
        if (std::find(allowed.begin(), allowed.end(), *f) == allowed.end()) {
            std::string list;
            for (const auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
            throw input_error("f: unknown format '" + *f + "' (one of: " + list + ")");
        }
        return *f;
    }
    const std::string accept(to_std(ctx.request[http::field::accept]));
    const auto html = accept.find("text/html");
    const auto json_at = std::min(accept.find("json"), accept.find("application/*"));
    const bool html_allowed = std::find(allowed.begin(), allowed.end(), "html") != allowed.end();
    if (html_allowed && html != std::string::npos && (json_at == std::string::npos || html < json_at)) return "html";
    return std::string(fallback);
}

StringResponse html_response(std::string_view title, const nlohmann::json& body) {
    std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
                      " - sitmap</title>\n<style>body{font-family:sans-serif;margin:1em 2em}table{border-collapse:"
                      "collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:90%}dt{font-weight:bold}"
                      "</style></head>\n<body><h1>" +
                      html_escape(title) + "</h1>\n";
    render(out, body, 0);
    out += "</body></html>\n";
    return make_response(http::status::ok, std::move(out), "text/html; charset=utf-8");
}

} // namespace sitmap::server
