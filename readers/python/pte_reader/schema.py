"""The modules generated from the schema files (flatc --python, protoc --python_out). Their
folder is on sys.path (README.md), or named by the environment variable PTE_SCHEMA_PY."""
import os
import sys

_where = os.environ.get("PTE_SCHEMA_PY")
if _where and _where not in sys.path:
    sys.path.insert(0, _where)

try:
    import piece_graph_pb2  # noqa: E402
    from pte.fb import (Blob, BlobTensor, DType, IntTensor, IORole, MetaEntry, MetaValue,  # noqa: E402,F401
                        Method, MethodRole, Program, Text)
except ImportError as e:  # pragma: no cover - a setup error, not a file error
    raise ImportError("pte_reader needs the modules generated from schema/pte.fbs and schema/piece_graph.proto "
                      "(build target pte_python_schema) on sys.path or in PTE_SCHEMA_PY: %s" % e) from e


def enum_names(enum_class):
    """{value: name} of a generated flatbuffers enum class."""
    return {v: k for k, v in vars(enum_class).items() if not k.startswith("_") and isinstance(v, int)}
