#include "geo/gdal.hpp"

#include "geo/error.hpp"

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <mutex>

namespace sitmap::geo {

namespace {

thread_local std::string t_gdal_error;

void CPL_STDCALL on_gdal_error(CPLErr level, CPLErrorNum, const char* message) {
    if (level >= CE_Failure) t_gdal_error = message ? message : "";
}

std::string with_reason(std::string text) {
    const std::string reason = gdal_last_error();
    if (!reason.empty()) text += ": " + reason;
    return text;
}

} // namespace

void gdal_init() {
    static std::once_flag once;
    std::call_once(once, [] {
        GDALAllRegister();
        CPLSetErrorHandler(on_gdal_error);
    });
}

std::string gdal_last_error() {
    return t_gdal_error;
}

StringList::StringList(const std::vector<std::string>& items) {
    for (const auto& item : items) m_list = CSLAddString(m_list, item.c_str());
}

StringList::~StringList() {
    CSLDestroy(m_list);
}

Dataset Dataset::open(const std::string& path, const std::vector<std::string>& open_options) {
    gdal_init();
    t_gdal_error.clear();
    StringList options(open_options);
    GDALDatasetH dataset = GDALOpenEx(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY, nullptr,
                                      options.get(), nullptr);
    if (!dataset) {
        throw input_error(with_reason("cannot open " + path + " as a vector source (is it a format GDAL reads?)"));
    }
    return Dataset(dataset, path);
}

Dataset Dataset::create(const std::string& driver_name, const std::string& path,
                        const std::vector<std::string>& creation_options) {
    gdal_init();
    t_gdal_error.clear();
    GDALDriverH driver = GDALGetDriverByName(driver_name.c_str());
    if (!driver) throw input_error("GDAL has no driver named " + driver_name);
    StringList options(creation_options);
    GDALDatasetH dataset = GDALCreate(driver, path.c_str(), 0, 0, 0, GDT_Unknown, options.get());
    if (!dataset) throw error(with_reason("cannot create " + path + " with GDAL's " + driver_name + " driver"));
    return Dataset(dataset, path);
}

int Dataset::layer_count() const {
    return GDALDatasetGetLayerCount(get());
}

OGRLayerH Dataset::layer(const std::string& name) const {
    if (name.empty()) {
        if (layer_count() == 0) throw input_error(m_path + " has no vector layer");
        return GDALDatasetGetLayer(get(), 0);
    }
    if (OGRLayerH layer = GDALDatasetGetLayerByName(get(), name.c_str())) return layer;
    std::string names;
    for (int i = 0; i < layer_count(); ++i) {
        if (!names.empty()) names += ", ";
        names += OGR_L_GetName(GDALDatasetGetLayer(get(), i));
    }
    throw input_error(m_path + " has no layer named '" + name + "' (it has: " + names + ")");
}

void Dataset::close() {
    t_gdal_error.clear();
    m_dataset.reset();
    if (!t_gdal_error.empty()) throw error("writing " + m_path + ": " + t_gdal_error);
}

MemoryFile::MemoryFile(std::string path, std::string_view bytes) : m_path(std::move(path)) {
    gdal_init();
    // GDAL takes a non-const pointer but does not write through it when it does not own the buffer.
    auto* data = reinterpret_cast<GByte*>(const_cast<char*>(bytes.data()));
    VSILFILE* file = VSIFileFromMemBuffer(m_path.c_str(), data, bytes.size(), FALSE);
    if (!file) throw error("cannot create " + m_path);
    VSIFCloseL(file);
}

MemoryFile::~MemoryFile() {
    VSIUnlink(m_path.c_str());
}

SpatialReference make_srs(const std::string& definition) {
    gdal_init();
    SpatialReference srs(OSRNewSpatialReference(nullptr));
    if (OSRSetFromUserInput(srs.get(), definition.c_str()) != OGRERR_NONE) {
        throw input_error("unknown coordinate reference system '" + definition + "'");
    }
    OSRSetAxisMappingStrategy(srs.get(), OAMS_TRADITIONAL_GIS_ORDER);
    return srs;
}

CoordinateTransform make_transform(OGRSpatialReferenceH from, OGRSpatialReferenceH to) {
    CoordinateTransform ct(OCTNewCoordinateTransformation(from, to));
    if (!ct) throw input_error(with_reason("no transformation from the source's CRS to EPSG:4326"));
    return ct;
}

} // namespace sitmap::geo
