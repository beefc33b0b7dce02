"""Puts pte_reader (readers/python) and the modules generated from the schema files on sys.path:
the folder named by PTE_SCHEMA_PY (set by ctest), else build/readers/python/generated."""
import os
import sys

_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_generated = os.environ.get("PTE_SCHEMA_PY") or os.path.join(_root, "build", "readers", "python", "generated")
for _p in (os.path.join(_root, "readers", "python"), _generated):
    if _p not in sys.path:
        sys.path.insert(0, _p)
