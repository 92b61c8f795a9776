"""A GGUF v3 writer in standard-library Python (numpy arrays accepted where available).

Used by the converter (HF checkpoint -> GGUF), the exporter of our trained model and the test
fixture generators. Writes metadata of every GGUF value type, the tensor table and 32-byte
aligned tensor data, in the layout llama.cpp reads.

    w = GGUFWriter(arch="llama")
    w.add("llama.block_count", 4)               # int -> uint32 unless given a type
    w.add("general.name", "x")
    w.add("tokenizer.ggml.tokens", ["a", "b"])  # list -> array of the element's type
    w.add_tensor("token_embd.weight", data_bytes, shape=(n_embd, n_vocab), dtype=F32)
    w.write("out.gguf")

Shapes are given in ggml order (ne[0] = the fastest, contiguous dimension), i.e. reversed from
PyTorch's: a torch weight of shape (out, in) has ggml shape (in, out).
"""
import struct

GGUF_MAGIC = b"GGUF"
GGUF_VERSION = 3
ALIGNMENT = 32

# value types
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_FMT = {UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
        FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d"}

# tensor types (ggml numbering)
F32, F16, Q4_0, Q8_0, BF16 = 0, 1, 2, 8, 30
BLOCK = {F32: (1, 4), F16: (1, 2), BF16: (1, 2), Q4_0: (32, 18), Q8_0: (32, 34)}


def _guess_type(value):
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return UINT32 if 0 <= value < 2**32 else INT64
    if isinstance(value, float):
        return FLOAT32
    if isinstance(value, (str, bytes)):
        return STRING
    if isinstance(value, (list, tuple)):
        return ARRAY
    raise TypeError(f"no GGUF type for {type(value).__name__}")


def _str(s):
    b = s.encode("utf-8") if isinstance(s, str) else bytes(s)
    return struct.pack("<Q", len(b)) + b


def _value(vtype, value, elem_type=None):
    if vtype == STRING:
        return _str(value)
    if vtype == ARRAY:
        if elem_type is None:
            elem_type = _guess_type(value[0]) if len(value) else INT32
            if elem_type == UINT32 and any(isinstance(v, int) and v < 0 for v in value):
                elem_type = INT32
        out = [struct.pack("<IQ", elem_type, len(value))]
        if elem_type == STRING:
            out.extend(_str(v) for v in value)
        else:
            fmt = _FMT[elem_type]
            out.append(struct.pack("<%d%s" % (len(value), fmt[1]), *value))
        return b"".join(out)
    return struct.pack(_FMT[vtype], value)


class GGUFWriter:
    def __init__(self, arch=None, alignment=ALIGNMENT):
        self.kv = []        # (key, type, encoded value)
        self.tensors = []   # (name, shape, dtype, bytes)
        self.alignment = alignment
        if arch:
            self.add("general.architecture", arch)
        if alignment != ALIGNMENT:
            self.add("general.alignment", alignment, UINT32)

    def add(self, key, value, vtype=None, elem_type=None):
        """Adds one metadata key. `vtype` forces the type (e.g. FLOAT32, INT32, UINT64)."""
        vtype = _guess_type(value) if vtype is None else vtype
        self.kv.append((key, vtype, _value(vtype, value, elem_type)))

    def add_tensor(self, name, data, shape, dtype=F32):
        """`data`: bytes (or a numpy array, whose raw bytes are taken); `shape` in ggml order."""
        if hasattr(data, "tobytes"):
            data = data.tobytes()
        n = 1
        for d in shape:
            n *= d
        per, size = BLOCK[dtype]
        if n % per or len(data) != n // per * size:
            raise ValueError(f"tensor {name}: {len(data)} bytes do not fit shape {shape} type {dtype}")
        self.tensors.append((name, tuple(shape), dtype, data))

    def to_bytes(self):
        out = bytearray(GGUF_MAGIC)
        out += struct.pack("<IQQ", GGUF_VERSION, len(self.tensors), len(self.kv))
        for key, vtype, enc in self.kv:
            out += _str(key) + struct.pack("<I", vtype) + enc
        offset = 0
        offsets = []
        for name, shape, dtype, data in self.tensors:
            offsets.append(offset)
            out += _str(name) + struct.pack("<I", len(shape))
            out += struct.pack("<%dQ" % len(shape), *shape)
            out += struct.pack("<IQ", dtype, offset)
            offset += len(data)
            offset += (-offset) % self.alignment
        out += b"\0" * ((-len(out)) % self.alignment)
        for (name, shape, dtype, data), off in zip(self.tensors, offsets):
            out += data
            out += b"\0" * ((-len(out)) % self.alignment)
        return bytes(out)

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.to_bytes())


def write_like(src_path, out_path, kv_raw, tensors):
    """Writes out_path with src_path's GGUF version and key/value count, the metadata section
    `kv_raw` (src_path's own, or a copy of it with values patched in place) and `tensors`, a list
    of (name, ggml shape, float array with .astype: numpy), 2-D ones as F16 and 1-D gains as F32.
    The weight tools (merge.py, grow.py) write their outputs with it."""
    table, blobs, off = bytearray(), [], 0
    for name, shape, x in tensors:
        ty, blob = (F16, x.astype("float16").tobytes()) if len(shape) > 1 else (F32, x.astype("float32").tobytes())
        table += _str(name) + struct.pack("<I", len(shape))
        table += struct.pack("<%dQ" % len(shape), *shape) + struct.pack("<IQ", ty, off)
        blobs.append(blob)
        off += len(blob) + (-len(blob)) % ALIGNMENT
    with open(src_path, "rb") as f:
        version, _, n_kv = struct.unpack("<IQQ", f.read(24)[4:])
    head = bytearray(GGUF_MAGIC) + struct.pack("<IQQ", version, len(tensors), n_kv) + kv_raw + table
    head += b"\0" * ((-len(head)) % ALIGNMENT)
    with open(out_path, "wb") as f:
        f.write(head)
        for blob in blobs:
            f.write(blob + b"\0" * ((-len(blob)) % ALIGNMENT))
