#pragma once
// An adapter as the command line names it: --adapter NAME CKPT CONFIG.
#include <string>

namespace pte {

struct AdapterSpec {
  std::string name, checkpoint, config;
};

}  // namespace pte
