#pragma once
// A pass transforms a Program in place and says, in one line, what it changed.
#include <string>

#include "exporter/program/export_options.h"
#include "exporter/program/program.h"

namespace pte {

struct Pass {
  const char* name;
  std::string (*run)(Program& program, const ExportOptions& options);
};

}  // namespace pte
