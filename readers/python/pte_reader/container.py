"""The container: fixed header, digest, flatbuffer, blob table and metadata (FORMAT.md §1, §2, §4)."""
import hashlib
import mmap
import struct

import numpy as np

from . import schema
from .errors import FormatError
from .flatbuffer_check import check_flatbuffer

MAGIC = b"PTEPACK\0"
HEADER = struct.Struct("<8sIIQQQQQQ32s")  # 96 bytes, FORMAT.md §1
HEADER_SIZE, FORMAT_VERSION, PAGE = 96, 2, 4096

# FORMAT.md §2 dtype numbering -> (name, numpy dtype or None for int4)
DTYPES = {1: ("fp32", np.float32), 2: ("fp16", np.float16), 3: ("bf16", None), 4: ("int32", np.int32),
          5: ("int64", np.int64), 6: ("int8", np.int8), 7: ("uint8", np.uint8), 8: ("int4", None)}
METHOD_ROLES = {k: v.lower() for k, v in schema.enum_names(schema.MethodRole.MethodRole).items()}
IO_ROLES = schema.enum_names(schema.IORole.IORole)
ELEMENT_LIMIT_ALLOCATED, ELEMENT_LIMIT_CONSTANT = 1 << 28, 1 << 31  # FORMAT.md §1 bounds


def _s(b):
    return b.decode("utf-8") if b is not None else None


class PteFile:
    """A validated .pte file, mapped read-only. Raises FormatError for anything FORMAT.md §1
    rejects; with check_hashes (the default) every blob is compared with its SHA-256 too."""

    def __init__(self, path=None, data=None, check_hashes=True):
        self.path = path if path is not None else "<bytes>"
        if data is None:
            with open(path, "rb") as f:
                size = f.seek(0, 2)
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        self.data = memoryview(data)
        self._check_header()
        fb = self.data[HEADER_SIZE:HEADER_SIZE + self.header["flatbuffer_size"]]
        check_flatbuffer(fb, self.path)
        try:
            self._decode(bytes(fb))
        except (struct.error, IndexError, UnicodeDecodeError) as e:
            raise FormatError("%s: the container flatbuffer cannot be read: %s" % (self.path, e)) from None
        self._check_blobs()
        if check_hashes:
            self.verify_hashes()
        self._check_references()

    def fail(self, what):
        raise FormatError("%s: %s" % (self.path, what))

    # --- FORMAT.md §1 ---------------------------------------------------------------------
    def _check_header(self):
        n = len(self.data)
        if n < HEADER_SIZE:
            self.fail("file is %d bytes, smaller than the 96-byte header" % n)
        f = HEADER.unpack_from(self.data, 0)
        h = dict(zip(("magic", "header_size", "format_version", "flatbuffer_offset", "flatbuffer_size",
                      "segment_offset", "segment_size", "file_size", "reserved", "container_sha256"), f))
        self.header = h
        if h["magic"] != MAGIC:
            self.fail("magic is %r, expected PTEPACK\\0 (not a .pte file)" % h["magic"])
        if h["format_version"] != FORMAT_VERSION:
            self.fail("format_version is %d, this reader supports 2" % h["format_version"])
        if h["header_size"] != HEADER_SIZE:
            self.fail("header_size is %d, expected 96" % h["header_size"])
        if h["file_size"] != n:
            self.fail("header file_size %d != real size %d" % (h["file_size"], n))
        if h["reserved"] != 0:
            self.fail("reserved header field is %d, expected 0" % h["reserved"])
        if h["flatbuffer_offset"] != HEADER_SIZE or h["flatbuffer_size"] > n - HEADER_SIZE:
            self.fail("flatbuffer region [%d, +%d) does not start at 96 or is outside the file"
                      % (h["flatbuffer_offset"], h["flatbuffer_size"]))
        seg = (HEADER_SIZE + h["flatbuffer_size"] + PAGE - 1) // PAGE * PAGE
        if h["segment_offset"] != seg or h["segment_offset"] > n or h["segment_size"] != n - h["segment_offset"]:
            self.fail("data segment [%d, +%d) does not start at the first page after the flatbuffer (%d) "
                      "or does not end the file" % (h["segment_offset"], h["segment_size"], seg))
        digest = hashlib.sha256()
        digest.update(self.data[:64])
        digest.update(self.data[HEADER_SIZE:h["segment_offset"]])
        if digest.digest() != h["container_sha256"]:
            self.fail("container_sha256 does not match bytes [0, 64) + [96, %d)" % h["segment_offset"])

    def _decode(self, fb):
        p = schema.Program.Program.GetRootAs(fb, 0)
        self.format_version = p.FormatVersion()
        self.exporter_version = _s(p.ExporterVersion())
        self.blobs = {}
        order = []
        for i in range(p.BlobsLength()):
            b = p.Blobs(i)
            key = _s(b.Key())
            order.append(key)
            self.blobs[key] = dict(key=key, offset=b.Offset(), size=b.Size(), alignment=b.Alignment(),
                                   sha256=bytes(b.Sha256(j) for j in range(b.Sha256Length())))
        if order != sorted(order) or len(set(order)) != len(order):
            self.fail("blob keys are not unique and sorted")

        def io(spec):
            return dict(name=_s(spec.Name()), dtype=DTYPES.get(spec.Dtype(), ("invalid",))[0],
                        shape=[spec.Shape(j) for j in range(spec.ShapeLength())],
                        role=IO_ROLES.get(spec.Role(), "invalid"), layer=spec.Layer())

        self.methods = {}
        for i in range(p.MethodsLength()):
            m = p.Methods(i)
            pieces = []
            for j in range(m.PiecesLength()):
                pc = m.Pieces(j)
                pieces.append(dict(backend=_s(pc.Backend()), payload=_s(pc.Payload()),
                                   inputs=[_s(pc.Inputs(k)) for k in range(pc.InputsLength())],
                                   outputs=[_s(pc.Outputs(k)) for k in range(pc.OutputsLength())]))
            name = _s(m.Name())
            if name in self.methods:
                self.fail("method %s appears twice" % name)
            self.methods[name] = dict(name=name, role=METHOD_ROLES.get(m.Role(), "invalid"),
                                      inputs=[io(m.Inputs(j)) for j in range(m.InputsLength())],
                                      outputs=[io(m.Outputs(j)) for j in range(m.OutputsLength())],
                                      pieces=pieces, adapter=_s(m.Adapter()))
        self.metadata = {}
        for i in range(p.MetadataLength()):
            e = p.Metadata(i)
            key, t, tab = _s(e.Key()), e.ValueType(), e.Value()
            if t == schema.MetaValue.MetaValue.IntTensor:
                v = schema.IntTensor.IntTensor()
                v.Init(tab.Bytes, tab.Pos)
                shape = [v.Shape(j) for j in range(v.ShapeLength())]
                values = [v.Values(j) for j in range(v.ValuesLength())]
                if int(np.prod(shape, dtype=object)) != len(values):
                    self.fail("metadata %s: shape %s does not hold %d values" % (key, shape, len(values)))
                self.metadata[key] = ("ints", np.array(values, dtype=np.int64).reshape(shape))
            elif t == schema.MetaValue.MetaValue.Text:
                v = schema.Text.Text()
                v.Init(tab.Bytes, tab.Pos)
                self.metadata[key] = ("text", _s(v.Value()))
            else:
                v = schema.BlobTensor.BlobTensor()
                v.Init(tab.Bytes, tab.Pos)
                self.metadata[key] = ("blob", dict(blob=_s(v.Blob()), dtype=DTYPES.get(v.Dtype(), ("invalid",))[0],
                                                   shape=[v.Shape(j) for j in range(v.ShapeLength())]))

    def _check_blobs(self):
        ss = self.header["segment_size"]
        for b in self.blobs.values():
            if b["alignment"] == 0 or b["offset"] % b["alignment"]:
                self.fail("blob %s: offset %d is not a multiple of its alignment %d" % (b["key"], b["offset"], b["alignment"]))
            if b["offset"] + b["size"] > ss:
                self.fail("blob %s: [%d, +%d) exceeds the data segment (%d bytes)" % (b["key"], b["offset"], b["size"], ss))
            if len(b["sha256"]) != 32:
                self.fail("blob %s: sha256 has %d bytes, expected 32" % (b["key"], len(b["sha256"])))

    def _check_references(self):
        for m in self.methods.values():
            for pc in m["pieces"]:
                if pc["payload"] not in self.blobs:
                    self.fail("method %s: piece payload %s is not in the blob table" % (m["name"], pc["payload"]))
        for key, (kind, v) in self.metadata.items():
            if kind == "blob" and v["blob"] not in self.blobs:
                self.fail("metadata %s names blob %s, which is not in the blob table" % (key, v["blob"]))
        self.constants = {}  # blob key -> the piece-graph Value of a constant stored there
        for m in self.methods.values():
            for pc in m["pieces"]:
                pc["constants"] = []  # the blob keys its constants name, codes before scales
                for v in self.graph(pc["payload"]).values:
                    if not v.HasField("constant"):
                        continue
                    for key in (v.constant.blob, v.constant.scales_blob):
                        if key and key not in self.blobs:
                            self.fail("method %s: constant %s names blob %s, which is not in the blob table"
                                      % (m["name"], v.name, key))
                        if key:
                            pc["constants"].append(key)
                    self.constants.setdefault(v.constant.blob, v)

    def verify_hashes(self):
        for b in self.blobs.values():
            if hashlib.sha256(self.raw(b["key"])).digest() != b["sha256"]:
                self.fail("blob %s: bytes do not match its sha256" % b["key"])

    # --- access -------------------------------------------------------------------------
    def keys(self):
        return sorted(self.blobs)

    def raw(self, key):
        """The bytes of a blob (a view of the mapped file)."""
        b = self.blobs.get(key)
        if b is None:
            self.fail("no blob %r" % key)
        start = self.header["segment_offset"] + b["offset"]
        return self.data[start:start + b["size"]]

    def meta(self, key, kind=None):
        if key not in self.metadata:
            self.fail("no metadata entry %s" % key)
        k, v = self.metadata[key]
        if kind and k != kind:
            self.fail("metadata entry %s is %s, expected %s" % (key, k, kind))
        return v

    def meta_int(self, key):
        return int(self.meta(key, "ints").reshape(-1)[0])

    def meta_blob_tensor(self, key):
        v = self.meta(key, "blob")
        return tensor_from_bytes(self.raw(v["blob"]), v["dtype"], v["shape"], "%s: metadata %s" % (self.path, key))

    def graph(self, payload_key):
        """The PieceGraph of a piece payload (protobuf), parsed."""
        g = schema.piece_graph_pb2.PieceGraph()
        try:
            g.ParseFromString(bytes(self.raw(payload_key)))
        except Exception as e:  # protobuf's DecodeError and friends
            self.fail("payload %s is not a PieceGraph: %s" % (payload_key, e))
        return g


def tensor_from_bytes(data, dtype, shape, where):
    """A float or integer tensor (little-endian, row-major) from blob bytes."""
    numel = int(np.prod(shape, dtype=object))
    np_dtype = {n: d for n, d in DTYPES.values()}.get(dtype)
    if np_dtype is None:
        raise FormatError("%s: dtype %s is not a plain tensor dtype" % (where, dtype))
    if len(data) != numel * np.dtype(np_dtype).itemsize:
        raise FormatError("%s: %d bytes for %d %s values of shape %s" % (where, len(data), numel, dtype, shape))
    return np.frombuffer(data, dtype=np.dtype(np_dtype).newbyteorder("<")).reshape(shape)
