#pragma once
/// JSON responses, and the one mapping from exceptions to HTTP error responses.

#include "http/http.hpp"

#include <nlohmann/json.hpp>

#include <exception>
#include <string_view>

namespace sitmap::server {

/// A response with body `{"error":"<code>","message":"<message>"}` and Content-Type
/// application/json. `code` is a short machine-readable word ("not_found", "bad_request", ...).
StringResponse json_error(http::status status, std::string_view code, std::string_view message);

/// A response with `body` serialised as JSON and the given Content-Type.
StringResponse json_response(http::status status, const nlohmann::json& body,
                             std::string_view content_type = "application/json");

/// Maps an exception to its error response: sitmap::input_error -> 400 "bad_request",
/// sitmap::not_found_error -> 404 "not_found", unauthorized_error -> 401 "unauthorized" (with
/// WWW-Authenticate: Bearer), forbidden_error -> 403, conflict_error -> 409, anything else -> 500 "internal_error" with a
/// generic message (the text of an internal error is logged, never sent). Logs the exception.
/// `what_for` names the request in the log ("GET /tiles/...").
StringResponse error_response(std::exception_ptr error, std::string_view what_for) noexcept;

} // namespace sitmap::server
