"""Bounds checks of the container flatbuffer before the generated accessors read it.

The generated Python code has no verifier and trusts every offset (a bad one reads garbage,
wraps around through a negative index, or silently truncates a string), so each table, string,
vector and union that pte.fbs declares is checked here against the buffer: what the FlatBuffers
verifier does for the C++ readers (FORMAT.md §1).
"""
import struct

from .errors import FormatError

# pte.fbs, field by field (slot index: kind). Kinds: "str", "table:T", "tables:T" (vector of
# tables), "scalars:N" (vector of N-byte scalars), "union:T1,T2,..." (type in slot i-1, value in i).
# A trailing "!" marks a required field.
SCHEMA = {
    "Program": {1: "str", 2: "tables:Method!", 3: "tables:Blob!", 4: "tables:MetaEntry!"},
    "Method": {0: "str!", 2: "tables:IOSpec!", 3: "tables:IOSpec!", 4: "tables:Piece!", 5: "str"},
    "IOSpec": {0: "str!", 2: "scalars:8!"},
    "Piece": {0: "str!", 1: "str!", 2: "strs!", 3: "strs!"},
    "Blob": {0: "str!", 4: "scalars:1!"},
    "IntTensor": {0: "scalars:8!", 1: "scalars:8!"},
    "Text": {0: "str!"},
    "BlobTensor": {0: "str!", 2: "scalars:8!"},
    "MetaEntry": {0: "str!", 2: "union:IntTensor,Text,BlobTensor!"},
}


class Checker:
    def __init__(self, buf, where):
        self.buf, self.n, self.where = buf, len(buf), where

    def fail(self, what):
        raise FormatError("%s: the container flatbuffer fails verification: %s" % (self.where, what))

    def u32(self, pos, what):
        if pos < 0 or pos + 4 > self.n:
            self.fail("%s at %d is outside the flatbuffer (%d bytes)" % (what, pos, self.n))
        return struct.unpack_from("<I", self.buf, pos)[0]

    def target(self, pos, what):
        """Where the uoffset at pos points."""
        return pos + self.u32(pos, what)

    def table(self, pos, name):
        soffset = struct.unpack_from("<i", self.buf, pos)[0] if 0 <= pos and pos + 4 <= self.n else None
        if soffset is None:
            self.fail("table %s at %d is outside the flatbuffer" % (name, pos))
        vt = pos - soffset
        if vt < 0 or vt + 4 > self.n:
            self.fail("vtable of %s at %d is outside the flatbuffer" % (name, vt))
        vsize, tsize = struct.unpack_from("<HH", self.buf, vt)
        if vsize < 4 or vsize % 2 or vt + vsize > self.n or tsize < 4 or pos + tsize > self.n:
            self.fail("vtable of %s at %d has sizes %d/%d outside the flatbuffer" % (name, vt, vsize, tsize))
        fields = []
        for i in range((vsize - 4) // 2):
            o = struct.unpack_from("<H", self.buf, vt + 4 + 2 * i)[0]
            if o and o + 1 > tsize:
                self.fail("field %d of %s lies past the table's %d bytes" % (i, name, tsize))
            fields.append(pos + o if o else None)
        for slot, kind in SCHEMA.get(name, {}).items():
            required = kind.endswith("!")
            kind = kind.rstrip("!")
            at = fields[slot] if slot < len(fields) else None
            if at is None:
                if required:
                    self.fail("required field %d of %s is absent" % (slot, name))
                continue
            if kind == "str":
                self.string(self.target(at, name), name)
            elif kind == "strs":
                for p in self.vector(self.target(at, name), 4, name):
                    self.string(self.target(p, name), name)
            elif kind.startswith("tables:"):
                for p in self.vector(self.target(at, name), 4, name):
                    self.table(self.target(p, name), kind[7:])
            elif kind.startswith("scalars:"):
                self.vector(self.target(at, name), int(kind[8:]), name)
            elif kind.startswith("union:"):
                types = kind[6:].split(",")
                tpos = fields[slot - 1] if slot - 1 < len(fields) else None
                t = self.buf[tpos] if tpos is not None else 0
                if not 1 <= t <= len(types):
                    self.fail("union type %d of %s is not one of %s" % (t, name, types))
                self.table(self.target(at, name), types[t - 1])

    def vector(self, pos, elem, what):
        n = self.u32(pos, what + " vector length")
        if pos + 4 + n * elem > self.n:
            self.fail("a vector of %s (%d elements) runs past the flatbuffer" % (what, n))
        return [pos + 4 + i * elem for i in range(n)]

    def string(self, pos, what):
        n = self.u32(pos, what + " string length")
        if pos + 4 + n + 1 > self.n or self.buf[pos + 4 + n] != 0:
            self.fail("a string of %s (%d bytes) runs past the flatbuffer or is not terminated" % (what, n))


def check_flatbuffer(buf, where):
    """Raises FormatError unless `buf` is a Program flatbuffer with identifier PTE1 whose every
    reachable table, string and vector lies inside it."""
    c = Checker(buf, where)
    if c.n < 8 or bytes(buf[4:8]) != b"PTE1":
        c.fail("file identifier is not PTE1")
    c.table(c.target(0, "root offset"), "Program")
