#include "exporter/program/program.h"

namespace pte {

std::string Program::add_weight(WeightRecipe recipe) {
  std::string key = recipe.key();
  weights.emplace(key, std::move(recipe));
  return key;
}

}  // namespace pte
