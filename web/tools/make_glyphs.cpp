/// sitmap_make_glyphs: renders the SDF glyph ranges that MapLibre GL JS loads
/// from the style's `glyphs` URL ("/fonts/{fontstack}/{start}-{end}.pbf"),
/// so the web map can draw labels with no internet access.
///
/// Usage: sitmap_make_glyphs <font.ttf> <fontstack name> <output dir> <start-end>...
/// Writes <output dir>/<fontstack name>/<start>-<end>.pbf for each range.
///
/// Output follows the glyphs.proto that MapLibre parses
/// (maplibre-gl-js src/style/parse_glyph_pbf.ts):
///   glyphs    { repeated fontstack stacks = 1; }
///   fontstack { string name = 1; string range = 2; repeated glyph glyphs = 3; }
///   glyph     { uint32 id = 1; bytes bitmap = 2; uint32 width = 3; uint32 height = 4;
///               sint32 left = 5; sint32 top = 6; uint32 advance = 7; }
/// with the parameters of node-fontnik / sdf-glyph-foundry: 24 px em, a 3 px
/// buffer around each glyph's bounding box, SDF radius 8 px and cutoff 0.25
/// (the outline sits at value 191, inside is brighter).
///
/// Deliberately not done: shaping, kerning, ligatures, colour glyphs, font
/// collections with several faces. MapLibre places glyphs one code point at a
/// time using only the metrics above.

#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_BBOX_H
#include FT_OUTLINE_H

#include <protozero/pbf_builder.hpp>
#include <protozero/pbf_writer.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

/// Glyph size, padding and distance field parameters MapLibre assumes for
/// server glyphs (it decodes bitmaps as (width + 6) x (height + 6)).
constexpr int font_size_px = 24;
constexpr int buffer_px = 3;
constexpr double radius_px = 8.0;
constexpr double cutoff = 0.25;

/// Each glyph is rasterised this many times larger before its distance
/// field is computed, so distances are accurate to a fraction of a pixel and
/// overlapping contours, if a font has them, are filled with the non-zero
/// rule by FreeType's rasteriser instead of leaving seams in the field.
constexpr int oversample = 8;

struct FtLibraryDeleter {
    void operator()(FT_Library library) const noexcept { FT_Done_FreeType(library); }
};
using FtLibrary = std::unique_ptr<std::remove_pointer_t<FT_Library>, FtLibraryDeleter>;

struct FtFaceDeleter {
    void operator()(FT_Face face) const noexcept { FT_Done_Face(face); }
};
using FtFace = std::unique_ptr<std::remove_pointer_t<FT_Face>, FtFaceDeleter>;

/// One glyph as stored in the PBF; `bitmap` is empty for glyphs with no ink.
struct SdfGlyph {
    std::uint32_t id = 0;
    std::string bitmap;
    std::uint32_t width = 0;
    std::uint32_t height = 0;
    std::int32_t left = 0;
    std::int32_t top = 0;
    std::uint32_t advance = 0;
};

/// Fontstack message fields and glyph message fields, as in glyphs.proto.
enum class GlyphsTag : protozero::pbf_tag_type { stacks = 1 };
enum class FontstackTag : protozero::pbf_tag_type { name = 1, range = 2, glyphs = 3 };
enum class GlyphTag : protozero::pbf_tag_type {
    id = 1, bitmap = 2, width = 3, height = 4, left = 5, top = 6, advance = 7
};

std::runtime_error ft_error(const std::string& what, FT_Error code) {
    return std::runtime_error{what + " (FreeType error " + std::to_string(code) + ")"};
}

/// Felzenszwalb & Huttenlocher's 1D squared distance transform over `n`
/// samples of `grid` starting at `offset`, `stride` apart (as in tiny-sdf).
void edt_1d(std::vector<double>& grid, std::size_t offset, std::size_t stride, std::size_t n,
            std::vector<double>& f, std::vector<std::ptrdiff_t>& v, std::vector<double>& z) {
    constexpr double inf = std::numeric_limits<double>::infinity();
    v[0] = 0;
    z[0] = -inf;
    z[1] = inf;
    f[0] = grid[offset];
    std::ptrdiff_t k = 0;
    for (std::size_t q = 1; q < n; ++q) {
        f[q] = grid[offset + q * stride];
        const auto qd = static_cast<double>(q);
        double s = 0.0;
        do {
            const auto r = static_cast<std::size_t>(v[static_cast<std::size_t>(k)]);
            const auto rd = static_cast<double>(r);
            s = (f[q] - f[r] + qd * qd - rd * rd) / (qd - rd) / 2.0;
        } while (s <= z[static_cast<std::size_t>(k)] && --k > -1);
        ++k;
        const auto ku = static_cast<std::size_t>(k);
        v[ku] = static_cast<std::ptrdiff_t>(q);
        z[ku] = s;
        z[ku + 1] = inf;
    }
    std::size_t j = 0;
    for (std::size_t q = 0; q < n; ++q) {
        const auto qd = static_cast<double>(q);
        while (z[j + 1] < qd) {
            ++j;
        }
        const auto r = static_cast<std::size_t>(v[j]);
        const auto d = qd - static_cast<double>(r);
        grid[offset + q * stride] = f[r] + d * d;
    }
}

/// 2D squared Euclidean distance transform of a `width` x `height` grid in place.
void edt_2d(std::vector<double>& grid, std::size_t width, std::size_t height) {
    const auto longest = std::max(width, height);
    std::vector<double> f(longest);
    std::vector<std::ptrdiff_t> v(longest);
    std::vector<double> z(longest + 1);
    for (std::size_t x = 0; x < width; ++x) {
        edt_1d(grid, x, width, height, f, v, z);
    }
    for (std::size_t y = 0; y < height; ++y) {
        edt_1d(grid, y * width, 1, width, f, v, z);
    }
}

/// Renders one code point of `face` (already sized to 24 px) as an SDF glyph.
/// Returns false when the face has no glyph for it.
bool render_glyph(FT_Face face, std::uint32_t codepoint, SdfGlyph& out) {
    // MapLibre measures `top` from an origin above the baseline, not from the
    // baseline: node-fontnik and MapLibre's font-maker store the bearing minus
    // the face's ascender at 24 px (26 px for Noto Sans), and MapLibre's layout
    // constants are tuned for that.
    const auto ascender_px = static_cast<int>(face->size->metrics.ascender / 64);
    const FT_UInt index = FT_Get_Char_Index(face, codepoint);
    if (index == 0) {
        return false;
    }
    if (const auto err = FT_Load_Glyph(face, index, FT_LOAD_NO_HINTING | FT_LOAD_NO_BITMAP)) {
        throw ft_error("loading glyph for U+" + std::to_string(codepoint), err);
    }
    const FT_GlyphSlot slot = face->glyph;
    out = SdfGlyph{};
    out.id = codepoint;
    // Unhinted advances are fractional; rounding (fontnik truncates) keeps
    // words from drifting narrow by up to a pixel per letter.
    out.advance = static_cast<std::uint32_t>(std::lround(static_cast<double>(slot->metrics.horiAdvance) / 64.0));

    if (slot->format != FT_GLYPH_FORMAT_OUTLINE || slot->outline.n_points == 0) {
        return true; // spaces and other glyphs without ink: metrics only
    }
    FT_BBox bbox{};
    if (const auto err = FT_Outline_Get_BBox(&slot->outline, &bbox)) {
        throw ft_error("measuring glyph for U+" + std::to_string(codepoint), err);
    }
    const auto round_px = [](FT_Pos v) { return static_cast<int>(std::lround(static_cast<double>(v) / 64.0)); };
    const int x_min = round_px(bbox.xMin);
    const int y_min = round_px(bbox.yMin);
    const int x_max = round_px(bbox.xMax);
    const int y_max = round_px(bbox.yMax);
    if (x_max <= x_min || y_max <= y_min) {
        return true;
    }
    out.width = static_cast<std::uint32_t>(x_max - x_min);
    out.height = static_cast<std::uint32_t>(y_max - y_min);
    out.left = x_min;
    out.top = y_max - ascender_px;

    const auto cols = static_cast<std::size_t>(x_max - x_min + 2 * buffer_px);
    const auto rows = static_cast<std::size_t>(y_max - y_min + 2 * buffer_px);
    const auto hi_cols = cols * oversample;
    const auto hi_rows = rows * oversample;

    // Move the outline so the buffered box starts at (0, 0), then scale it up.
    FT_Outline_Translate(&slot->outline, static_cast<FT_Pos>((buffer_px - x_min) * 64),
                         static_cast<FT_Pos>((buffer_px - y_min) * 64));
    FT_Matrix scale{oversample * 0x10000L, 0, 0, oversample * 0x10000L};
    FT_Outline_Transform(&slot->outline, &scale);

    std::vector<unsigned char> coverage(hi_cols * hi_rows, 0);
    FT_Bitmap target{};
    target.rows = static_cast<unsigned int>(hi_rows);
    target.width = static_cast<unsigned int>(hi_cols);
    target.pitch = static_cast<int>(hi_cols); // positive pitch: first row is the top row
    target.buffer = coverage.data();
    target.num_grays = 256;
    target.pixel_mode = FT_PIXEL_MODE_GRAY;
    if (const auto err = FT_Outline_Get_Bitmap(slot->library, &slot->outline, &target)) {
        throw ft_error("rasterising glyph for U+" + std::to_string(codepoint), err);
    }

    // Squared distances to the edge from outside and from inside, seeded with
    // the sub-pixel edge position that partial coverage implies (tiny-sdf).
    constexpr double inf = 1e20;
    std::vector<double> outer(coverage.size(), inf);
    std::vector<double> inner(coverage.size(), 0.0);
    for (std::size_t i = 0; i < coverage.size(); ++i) {
        const double a = coverage[i] / 255.0;
        if (coverage[i] == 0) {
            continue;
        }
        if (coverage[i] == 255) {
            outer[i] = 0.0;
            inner[i] = inf;
            continue;
        }
        const double d = 0.5 - a;
        outer[i] = d > 0 ? d * d : 0.0;
        inner[i] = d < 0 ? d * d : 0.0;
    }
    edt_2d(outer, hi_cols, hi_rows);
    edt_2d(inner, hi_cols, hi_rows);

    // Sample the signed distance at each output pixel's centre, which falls
    // between four oversampled pixels; positive outside, in output pixels.
    out.bitmap.resize(cols * rows);
    constexpr std::size_t half = oversample / 2;
    for (std::size_t y = 0; y < rows; ++y) {
        for (std::size_t x = 0; x < cols; ++x) {
            double sum = 0.0;
            for (std::size_t dy = 0; dy < 2; ++dy) {
                for (std::size_t dx = 0; dx < 2; ++dx) {
                    const auto i = (y * oversample + half - 1 + dy) * hi_cols + (x * oversample + half - 1 + dx);
                    sum += std::sqrt(outer[i]) - std::sqrt(inner[i]);
                }
            }
            const double distance = sum / 4.0 / oversample;
            const double value = 255.0 - 255.0 * (distance / radius_px + cutoff);
            out.bitmap[y * cols + x] = static_cast<char>(static_cast<unsigned char>(std::clamp(std::lround(value), 0L, 255L)));
        }
    }
    return true;
}

/// Encodes one range of `face` as a glyphs PBF message.
std::string encode_range(FT_Face face, const std::string& fontstack, std::uint32_t start, std::uint32_t end) {
    std::string data;
    protozero::pbf_builder<GlyphsTag> glyphs{data};
    protozero::pbf_builder<FontstackTag> stack{glyphs, GlyphsTag::stacks};
    stack.add_string(FontstackTag::name, fontstack);
    stack.add_string(FontstackTag::range, std::to_string(start) + "-" + std::to_string(end));
    SdfGlyph glyph;
    for (std::uint32_t cp = start; cp <= end; ++cp) {
        if (!render_glyph(face, cp, glyph)) {
            continue;
        }
        protozero::pbf_builder<GlyphTag> message{stack, FontstackTag::glyphs};
        message.add_uint32(GlyphTag::id, glyph.id);
        if (!glyph.bitmap.empty()) {
            message.add_bytes(GlyphTag::bitmap, glyph.bitmap);
        }
        message.add_uint32(GlyphTag::width, glyph.width);
        message.add_uint32(GlyphTag::height, glyph.height);
        message.add_sint32(GlyphTag::left, glyph.left);
        message.add_sint32(GlyphTag::top, glyph.top);
        message.add_uint32(GlyphTag::advance, glyph.advance);
    }
    return data;
}

/// Parses "start-end" (0 <= start <= end <= 65535, 256 code points apart at most
/// as MapLibre requests ranges of 256).
std::pair<std::uint32_t, std::uint32_t> parse_range(const std::string& text) {
    const auto dash = text.find('-');
    try {
        if (dash == std::string::npos) {
            throw std::invalid_argument{"no dash"};
        }
        std::size_t used = 0;
        const auto start = std::stoul(text.substr(0, dash), &used);
        if (used != dash) {
            throw std::invalid_argument{"junk"};
        }
        const auto tail = text.substr(dash + 1);
        const auto end = std::stoul(tail, &used);
        if (used != tail.size() || start > end || end > 65535) {
            throw std::invalid_argument{"bounds"};
        }
        return {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end)};
    } catch (const std::logic_error&) {
        throw std::runtime_error{"bad range '" + text + "': expected start-end, e.g. 0-255"};
    }
}

} // namespace

int main(int argc, char* argv[]) {
    if (argc < 5) {
        std::cerr << "usage: " << argv[0] << " <font.ttf> <fontstack name> <output dir> <start-end>...\n"
                  << "writes <output dir>/<fontstack name>/<start>-<end>.pbf (MapLibre SDF glyphs)\n";
        return 2;
    }
    try {
        const std::string font_path = argv[1];
        const std::string fontstack = argv[2];
        const std::filesystem::path dir = std::filesystem::path{argv[3]} / fontstack;

        FT_Library raw_library = nullptr;
        if (const auto err = FT_Init_FreeType(&raw_library)) {
            throw ft_error("initialising FreeType", err);
        }
        const FtLibrary library{raw_library};
        FT_Face raw_face = nullptr;
        if (const auto err = FT_New_Face(library.get(), font_path.c_str(), 0, &raw_face)) {
            throw ft_error("opening font " + font_path, err);
        }
        const FtFace face{raw_face};
        if (const auto err = FT_Set_Char_Size(face.get(), 0, font_size_px * 64, 72, 72)) {
            throw ft_error("sizing font " + font_path, err);
        }

        std::filesystem::create_directories(dir);
        for (int i = 4; i < argc; ++i) {
            const auto [start, end] = parse_range(argv[i]);
            const auto data = encode_range(face.get(), fontstack, start, end);
            const auto path = dir / (std::to_string(start) + "-" + std::to_string(end) + ".pbf");
            std::ofstream file{path, std::ios::binary | std::ios::trunc};
            file.write(data.data(), static_cast<std::streamsize>(data.size()));
            file.close();
            if (!file) {
                throw std::runtime_error{"writing " + path.string()};
            }
            std::cout << path.string() << ": " << data.size() << " bytes\n";
        }
    } catch (const std::exception& e) {
        std::cerr << "sitmap_make_glyphs: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
