#pragma once
/// RAII wrappers for GDAL/OGR vector handles: datasets, features, spatial references, transforms.

#include <memory>
#include <type_traits>
#include <string>
#include <string_view>
#include <vector>

#include <gdal.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

namespace sitmap::geo {

/// Registers GDAL's drivers once (thread-safe) and routes GDAL's errors to exceptions' text.
void gdal_init();

/// The text of GDAL's last error on this thread, or an empty string.
std::string gdal_last_error();

struct DatasetCloser {
    void operator()(GDALDatasetH dataset) const noexcept { GDALClose(dataset); }
};
struct FeatureDestroyer {
    void operator()(OGRFeatureH feature) const noexcept { OGR_F_Destroy(feature); }
};
struct SrsReleaser {
    void operator()(OGRSpatialReferenceH srs) const noexcept { OSRRelease(srs); }
};
struct TransformDestroyer {
    void operator()(OGRCoordinateTransformationH ct) const noexcept { OCTDestroyCoordinateTransformation(ct); }
};

using Feature = std::unique_ptr<std::remove_pointer_t<OGRFeatureH>, FeatureDestroyer>;
using SpatialReference = std::unique_ptr<std::remove_pointer_t<OGRSpatialReferenceH>, SrsReleaser>;
using CoordinateTransform = std::unique_ptr<std::remove_pointer_t<OGRCoordinateTransformationH>, TransformDestroyer>;

/// A GDAL vector dataset with one owner.
class Dataset {
public:
    /// Opens a vector source read-only (any OGR format; "/vsizip/" and other virtual paths work).
    /// `open_options` are GDAL open options ("KEY=VALUE"). Throws sitmap::input_error naming the path.
    static Dataset open(const std::string& path, const std::vector<std::string>& open_options = {});
    /// Creates a new dataset with the named driver ("GeoJSON", "GPKG", ...). Throws naming the path.
    static Dataset create(const std::string& driver, const std::string& path,
                          const std::vector<std::string>& creation_options = {});

    GDALDatasetH get() const { return m_dataset.get(); }
    int layer_count() const;
    /// The layer by name, or the first one when `name` is empty. Throws sitmap::input_error listing
    /// the layers there are when the name is unknown.
    OGRLayerH layer(const std::string& name) const;
    /// Closes the dataset and reports errors that GDAL raises on the final flush.
    void close();

private:
    explicit Dataset(GDALDatasetH dataset, std::string path) : m_dataset(dataset), m_path(std::move(path)) {}
    std::unique_ptr<std::remove_pointer_t<GDALDatasetH>, DatasetCloser> m_dataset;
    std::string m_path;
};

/// A spatial reference from any definition PROJ understands ("EPSG:32630", WKT, PROJJSON),
/// with traditional GIS axis order (lon/lat). Throws sitmap::input_error when it is not understood.
SpatialReference make_srs(const std::string& definition);

/// A transform between two spatial references (through PROJ), lon/lat order on both sides.
CoordinateTransform make_transform(OGRSpatialReferenceH from, OGRSpatialReferenceH to);

/// A read-only file in GDAL's /vsimem/ over bytes the caller keeps alive; unlinked on destruction.
class MemoryFile {
public:
    MemoryFile(std::string path, std::string_view bytes);
    ~MemoryFile();
    MemoryFile(const MemoryFile&) = delete;
    MemoryFile& operator=(const MemoryFile&) = delete;
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

/// RAII list of "KEY=VALUE" strings for GDAL's char** parameters.
class StringList {
public:
    explicit StringList(const std::vector<std::string>& items);
    ~StringList();
    StringList(const StringList&) = delete;
    StringList& operator=(const StringList&) = delete;
    char** get() const { return m_list; }

private:
    char** m_list = nullptr;
};

} // namespace sitmap::geo
