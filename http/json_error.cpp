#include "http/json_error.hpp"

#include "geo/error.hpp"

#include <spdlog/spdlog.h>

#include <string>

namespace sitmap::server {

StringResponse json_error(http::status status, std::string_view code, std::string_view message)
{
    nlohmann::json body = {{"error", code}, {"message", message}};
    // A message may quote request bytes; replace rather than throw on invalid UTF-8.
    return make_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         "application/json");
}

StringResponse json_response(http::status status, const nlohmann::json& body, std::string_view content_type)
{
    return make_response(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                         content_type);
}

StringResponse error_response(std::exception_ptr error, std::string_view what_for) noexcept
{
    try {
        try {
            std::rethrow_exception(error);
        } catch (const input_error& e) {
            spdlog::debug("{}: bad request: {}", what_for, e.what());
            return json_error(http::status::bad_request, "bad_request", e.what());
        } catch (const unauthorized_error& e) {
            spdlog::debug("{}: unauthorized: {}", what_for, e.what());
            auto response = json_error(http::status::unauthorized, "unauthorized", e.what());
            response.set(http::field::www_authenticate, "Bearer");
            return response;
        } catch (const forbidden_error& e) {
            spdlog::debug("{}: forbidden: {}", what_for, e.what());
            return json_error(http::status::forbidden, "forbidden", e.what());
        } catch (const conflict_error& e) {
            spdlog::debug("{}: conflict: {}", what_for, e.what());
            return json_error(http::status::conflict, "conflict", e.what());
        } catch (const not_found_error& e) {
            spdlog::debug("{}: not found: {}", what_for, e.what());
            return json_error(http::status::not_found, "not_found", e.what());
        } catch (const std::exception& e) {
            spdlog::error("{}: internal error: {}", what_for, e.what());
        } catch (...) {
            spdlog::error("{}: internal error of unknown type", what_for);
        }
        return json_error(http::status::internal_server_error, "internal_error",
                          "the server failed to answer this request; the error is in its log");
    } catch (...) {
        // Building the error response itself failed (out of memory): a bare 500.
        StringResponse bare;
        bare.result(http::status::internal_server_error);
        return bare;
    }
}

} // namespace sitmap::server
