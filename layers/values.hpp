#pragma once
/// Normalising attribute values as they come from files and requests.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sitmap::layers {

/// A date or date-time in UTC as "YYYY-MM-DDTHH:MM:SSZ". Accepts ISO 8601 dates and date-times
/// (with 'T' or a space, optional seconds and fractions, Z or an offset that is applied),
/// "YYYY/MM/DD" and ACLED's "12 March 2020". nullopt when the text is none of those or not a real day.
std::optional<std::string> normalise_datetime(std::string_view text);

/// A calendar date "YYYY-MM-DD" from the same inputs (the time of day is dropped).
std::optional<std::string> normalise_date(std::string_view text);

/// Lower-case, trimmed, spaces, dashes and slashes turned into single underscores: "IED Detonated" -> "ied_detonated".
std::string normalise_token(std::string_view text);

/// Trims ASCII white space at both ends.
std::string_view trim(std::string_view text);

/// The parts of a comma-separated list ("a, b,c" -> a, b, c), each trimmed, as std::getline splits
/// them: "" gives none, "a,,b" an empty middle part, a trailing comma no part.
std::vector<std::string> split_list(std::string_view text);

/// Folds case and the accents of Latin letters (é -> e), for matching names: "Ménaka" ~ "menaka".
std::string fold_name(std::string_view text);

} // namespace sitmap::layers
