#include "exporter/packer/output_path.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "common/error.h"
#include "common/regular_file.h"

namespace pte {
namespace {

struct Identity {
  dev_t device;
  ino_t inode;
  std::string path;
};

void add_identity(const std::string& path, std::vector<Identity>& out) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return;  // a missing input is its reader's error
  if (S_ISDIR(st.st_mode)) {
    std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
    if (!dir) return;
    while (const dirent* e = ::readdir(dir.get())) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      const std::string child = path + "/" + e->d_name;
      struct stat cst{};
      if (::stat(child.c_str(), &cst) == 0 && S_ISREG(cst.st_mode))
        out.push_back({cst.st_dev, cst.st_ino, child});
    }
    return;
  }
  out.push_back({st.st_dev, st.st_ino, path});
}

}  // namespace

std::string checked_output_path(const std::string& output, const std::vector<std::string>& inputs) {
  if (output.empty()) throw Error("-o/--output: the output path is empty");
  std::string destination = output;
  struct stat lst{};
  if (::lstat(output.c_str(), &lst) == 0) {
    struct stat st{};
    if (S_ISLNK(lst.st_mode)) {
      if (::stat(output.c_str(), &st) != 0)
        throw Error(output + ": is a symlink to a missing file; refusing to write through it");
      char resolved[PATH_MAX];
      if (!::realpath(output.c_str(), resolved))
        throw Error(output + ": cannot resolve the symlink: " + std::strerror(errno));
      destination = resolved;
    } else {
      st = lst;
    }
    if (!S_ISREG(st.st_mode))
      throw Error(output + ": is " + file_kind(st.st_mode) +
                  ", not a regular file; refusing to replace it (choose another -o)");
    std::vector<Identity> identities;
    for (const std::string& input : inputs) add_identity(input, identities);
    for (const Identity& id : identities)
      if (id.device == st.st_dev && id.inode == st.st_ino)
        throw Error(output + ": is the same file as the input " + id.path +
                    "; refusing to overwrite an input (choose another -o)");
  } else if (errno != ENOENT) {
    throw Error(output + ": cannot check the output path: " + std::strerror(errno));
  }
  const std::string folder = folder_of(destination);
  struct stat fst{};
  if (::stat(folder.c_str(), &fst) != 0 || !S_ISDIR(fst.st_mode))
    throw Error(output + ": the folder " + folder + " does not exist");
  return destination;
}

}  // namespace pte
