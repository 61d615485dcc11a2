#pragma once
/// Errors thrown by sitmap. One base, a few kinds that callers map to exit codes and HTTP statuses.

#include <stdexcept>
#include <string>

namespace sitmap {

/// Base of every sitmap error. what() is a sentence a person can act on.
class error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// Bad input from a user: a file, a feature, a field or a request parameter. CLI exit 2, HTTP 400.
class input_error : public error {
public:
    using error::error;
};

/// Something asked for does not exist (a layer, a feature). HTTP 404.
class not_found_error : public error {
public:
    using error::error;
};

/// No valid credentials where they are needed (missing, unknown or revoked token). HTTP 401.
class unauthorized_error : public error {
public:
    using error::error;
};

/// Valid credentials that do not allow this (role too low, verifying one's own report). HTTP 403.
class forbidden_error : public error {
public:
    using error::error;
};

/// The request conflicts with what is stored (creating a feature whose id exists). HTTP 409.
class conflict_error : public error {
public:
    using error::error;
};

/// A failure of the database or a library underneath. HTTP 500, CLI exit 1.
class internal_error : public error {
public:
    using error::error;
};

} // namespace sitmap
