#pragma once
/// Content negotiation for the OGC API (f=json|html, Accept) and plain HTML pages for people
/// browsing the API. Every value shown is escaped.

#include "http/http.hpp"
#include "http/router.hpp"

#include <nlohmann/json.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

namespace sitmap::server {

/// `text` with &, <, >, " and ' replaced by entities.
std::string html_escape(std::string_view text);

/// The format asked for: the `f` parameter when present, else "html" when Accept prefers
/// text/html over JSON, else `fallback`. Throws sitmap::input_error when `f` is not one of `allowed`.
std::string requested_format(const RouteContext& ctx, std::initializer_list<std::string_view> allowed,
                             std::string_view fallback = "json");

/// A plain HTML page titled `title` showing `body`: objects as definition lists, arrays as
/// lists, GeoJSON features as table rows, "href" values as links.
StringResponse html_response(std::string_view title, const nlohmann::json& body);

} // namespace sitmap::server
