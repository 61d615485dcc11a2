#pragma once
/// gzip (RFC 1952) for HTTP answers: the zlib helpers, the reading of Accept-Encoding, and the one
/// place where JSON, GeoJSON, CSV and HTML answers are compressed on the fly (the router calls
/// compress_response() on every response it finishes).

#include "http/http.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace sitmap::server {

/// True when the request's Accept-Encoding allows gzip: "gzip", "x-gzip" or "*", unless with q=0.
bool accepts_gzip(const Request& request);

/// The gzip of `bytes`, zlib level 6. Throws sitmap::internal_error if zlib fails.
std::string gzip_compress(std::string_view bytes);

/// The inverse of gzip_compress, or of a gzip stream made by gzip_chunks (for tests and for
/// clients that do not accept gzip). Throws sitmap::input_error when the bytes are not one
/// complete gzip stream.
std::string gzip_decompress(std::string_view bytes);

/// A producer of the gzip of what `inner` produces, compressed as it comes through one zlib stream
/// of its own: the whole body is never held. Each chunk holds at least gzip_chunk_bytes of
/// compressed bytes (except the last), so memory stays bounded by one inner chunk, zlib's state
/// and about that much output; the chunk after `inner`'s last one ends the gzip stream.
/// Exceptions from `inner` pass through; zlib failing throws sitmap::internal_error.
ChunkProducer gzip_chunks(ChunkProducer inner);

/// The least compressed bytes gzip_chunks gathers into one chunk.
inline constexpr std::size_t gzip_chunk_bytes = 16 * 1024;

/// Whole bodies shorter than this go out as they are: gzip would save a few bytes at best.
inline constexpr std::size_t gzip_min_body_bytes = 1024;

/// True for the media types compressed on the fly: application/json and any `application/...+json`
/// (GeoJSON, JSON Schema, OpenAPI), text/csv and text/html, whatever their parameters.
bool is_compressible_answer(std::string_view content_type) noexcept;

/// Compresses `response` for `request` when both allow it, in place:
/// - only a successful (2xx) answer of a compressible type (is_compressible_answer) that has no
///   Content-Encoding nor ETag yet (tiles and static files choose their own representations) and
///   is not a long-lived stream (Server-Sent Events stay as they are, event by event);
/// - such an answer always gets `Vary: Accept-Encoding`; when the client accepts gzip, a whole
///   body of gzip_min_body_bytes or more is replaced by its gzip, and a streamed body is
///   compressed chunk by chunk (gzip_chunks); either then gets `Content-Encoding: gzip` and loses
///   any Content-Length (the router sets the new one).
/// Errors (4xx, 5xx) are deliberately sent uncompressed: they are short, and stay readable in a
/// proxy's log. Shared bodies (SharedResponse, from caches) are left alone. Throws
/// sitmap::internal_error if zlib fails.
void compress_response(Response& response, const Request& request);

} // namespace sitmap::server
