"""A .pte reader written from schema/FORMAT.md and the code generated from the schema files."""
from .container import PteFile, tensor_from_bytes  # noqa: F401
from .errors import FormatError  # noqa: F401
from .graph import run_graph, run_method  # noqa: F401
from .quantized import codes, dequantize, unpack_int4, weight, weight_scales  # noqa: F401
from .runner import Runner  # noqa: F401
