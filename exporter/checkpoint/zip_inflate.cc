#include "exporter/checkpoint/zip_inflate.h"

#include <zip.h>

#include <memory>

#include "common/error.h"

namespace pte {

namespace {

struct ArchiveCloser {
  void operator()(zip_t* z) const { zip_discard(z); }
};
struct EntryCloser {
  void operator()(zip_file_t* f) const { zip_fclose(f); }
};

}  // namespace

std::vector<uint8_t> inflate_zip_entry(const MappedFile& file, const ZipEntry& entry) {
  const std::string where = file.path() + ": zip entry '" + entry.name + "'";
  if (entry.method != ZIP_CM_DEFLATE)
    throw Error(where + ": compression method " + std::to_string(entry.method) +
                " is not supported (expected stored or deflated)");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* source = zip_source_buffer_create(file.data(), file.size(), 0, &error);
  if (!source) throw Error(where + ": libzip: " + zip_error_strerror(&error));
  std::unique_ptr<zip_t, ArchiveCloser> archive(zip_open_from_source(source, ZIP_RDONLY, &error));
  if (!archive) {
    zip_source_free(source);
    std::string message = zip_error_strerror(&error);
    zip_error_fini(&error);
    throw Error(where + ": libzip cannot open the archive: " + message);
  }
  zip_error_fini(&error);
  const zip_int64_t index = zip_name_locate(archive.get(), entry.name.c_str(), ZIP_FL_ENC_RAW);
  if (index < 0) throw Error(where + ": libzip does not list this entry");
  std::unique_ptr<zip_file_t, EntryCloser> reader(zip_fopen_index(archive.get(), index, 0));
  if (!reader) throw Error(where + ": libzip: " + zip_strerror(archive.get()));

  std::vector<uint8_t> bytes(static_cast<size_t>(entry.uncompressed_size));
  uint64_t filled = 0;
  while (filled < bytes.size()) {
    const zip_int64_t n = zip_fread(reader.get(), bytes.data() + filled, bytes.size() - filled);
    if (n < 0) throw Error(where + ": cannot inflate: " + zip_file_strerror(reader.get()));
    if (n == 0) break;
    filled += static_cast<uint64_t>(n);
  }
  uint8_t probe;
  const zip_int64_t extra = filled == bytes.size() ? zip_fread(reader.get(), &probe, 1) : 0;
  if (extra < 0) throw Error(where + ": cannot inflate: " + zip_file_strerror(reader.get()));
  if (filled != bytes.size() || extra != 0)
    throw Error(where + ": inflated size differs from the " +
                std::to_string(entry.uncompressed_size) + " bytes the directory states");
  return bytes;
}

}  // namespace pte
