#pragma once
// Where `pte export -o PATH` may write, decided before any input is read (so a refusal touches
// nothing):
// - PATH must not be any of the inputs: same device and inode, after following symlinks, as a
//   checkpoint, params/config, adapter or tokenizer file; for a folder given as an input, as
//   any file directly inside it.
// - When PATH exists it must be a regular file, or a symlink to one: then the target is replaced
//   (written through) and the link stays. A dangling symlink, a directory, a device, a FIFO or a
//   socket is refused: renaming over it would replace it with a regular file.
// - Its folder must exist.
#include <string>
#include <vector>

namespace pte {

// Returns the path to write (the symlink's target when PATH is a symlink); throws pte::Error.
std::string checked_output_path(const std::string& output, const std::vector<std::string>& inputs);

}  // namespace pte
