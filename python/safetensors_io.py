"""Minimal reader and writer for the safetensors file format, for torch tensors.

This is: a self-contained implementation (no `safetensors` package exists on this
machine) of the format used by Hugging Face checkpoints (`model.safetensors`), enough
to load GPT-2 checkpoints and to write our own fixtures.
This is not: a memory-mapped or zero-copy loader (it reads the whole file), nor a
general framework adapter (torch only).

The format (little-endian throughout):

    offset 0      u64       N, the length in bytes of the JSON header
    offset 8      N bytes   JSON object, UTF-8. Each key is a tensor name mapped to
                            {"dtype": "F32", "shape": [d0, d1, ...],
                             "data_offsets": [begin, end]}
                            with begin/end relative to the start of the data section;
                            the optional key "__metadata__" maps to a {str: str} object.
                            Writers pad the JSON with spaces so that 8 + N is a
                            multiple of 8.
    offset 8 + N  data      the tensors' bytes, row-major, little-endian, back to back.

dtype strings: F64 F32 F16 BF16 I64 I32 I16 I8 U8 BOOL.
"""

import json
import struct

import torch

_DTYPE_TO_TORCH = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_TORCH_TO_DTYPE = {v: k for k, v in _DTYPE_TO_TORCH.items()}
_DTYPE_SIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4,
               "I16": 2, "I8": 1, "U8": 1, "BOOL": 1}

# A header larger than this is treated as a corrupt file rather than read.
_MAX_HEADER_BYTES = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A file that is not valid safetensors (the message says why)."""


def safetensors_dumps(tensors, metadata=None):
    """Serialise {name: tensor} (and optional {str: str} metadata) to bytes.

    Tensors are written in the order of the mapping, contiguous, on CPU; shared or
    non-contiguous tensors are copied. Returns the file contents as `bytes`.
    """
    header = {}
    chunks = []
    offset = 0
    for name, tensor in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise SafetensorsError("bad tensor name %r" % (name,))
        if tensor.dtype not in _TORCH_TO_DTYPE:
            raise SafetensorsError("%s: unsupported dtype %s" % (name, tensor.dtype))
        t = tensor.detach().to("cpu").contiguous()
        # bytes of a contiguous tensor, via a uint8 view of its storage
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        dtype = _TORCH_TO_DTYPE[t.dtype]
        assert len(raw) == t.numel() * _DTYPE_SIZE[dtype]
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    if metadata:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise SafetensorsError("metadata must map str to str")
        header["__metadata__"] = dict(metadata)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def safetensors_save(tensors, path, metadata=None):
    """Write {name: tensor} to `path` in safetensors format (see safetensors_dumps)."""
    data = safetensors_dumps(tensors, metadata)
    with open(path, "wb") as f:
        f.write(data)


def safetensors_loads(data):
    """Parse safetensors bytes. Returns (tensors: {name: tensor}, metadata: {str: str}).

    Every tensor is a fresh CPU tensor (copied out of `data`). Raises
    SafetensorsError on any inconsistency: short file, bad JSON, unknown dtype,
    offsets out of range, overlapping or gapped data, size not matching the shape.
    """
    if len(data) < 8:
        raise SafetensorsError("file too short for a header length (%d bytes)" % len(data))
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER_BYTES or 8 + n > len(data):
        raise SafetensorsError("header length %d does not fit a %d-byte file" % (n, len(data)))
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise SafetensorsError("header is not JSON: %s" % e)
    if not isinstance(header, dict):
        raise SafetensorsError("header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    if not isinstance(metadata, dict):
        raise SafetensorsError("__metadata__ is not an object")
    body = memoryview(data)[8 + n:]
    spans = []
    tensors = {}
    for name, info in header.items():
        try:
            dtype = info["dtype"]
            shape = [int(d) for d in info["shape"]]
            begin, end = (int(x) for x in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError("%s: malformed entry %r" % (name, info))
        if dtype not in _DTYPE_TO_TORCH:
            raise SafetensorsError("%s: unknown dtype %r" % (name, dtype))
        if any(d < 0 for d in shape):
            raise SafetensorsError("%s: negative dimension in %r" % (name, shape))
        count = 1
        for d in shape:
            count *= d
        if not (0 <= begin <= end <= len(body)):
            raise SafetensorsError("%s: data_offsets [%d, %d] outside %d data bytes"
                                   % (name, begin, end, len(body)))
        if end - begin != count * _DTYPE_SIZE[dtype]:
            raise SafetensorsError("%s: %d bytes for shape %r of %s"
                                   % (name, end - begin, shape, dtype))
        spans.append((begin, end, name))
        if count == 0:
            t = torch.empty(shape, dtype=_DTYPE_TO_TORCH[dtype])
        else:
            # bytearray: a writable copy, so torch.frombuffer does not warn or alias
            buf = bytearray(body[begin:end])
            t = torch.frombuffer(buf, dtype=_DTYPE_TO_TORCH[dtype]).reshape(shape)
        tensors[name] = t
    spans.sort()
    pos = 0
    for begin, end, name in spans:
        if begin != pos:
            raise SafetensorsError("%s: data starts at %d, expected %d (gap or overlap)"
                                   % (name, begin, pos))
        pos = end
    if pos != len(body):
        raise SafetensorsError("%d trailing bytes after the last tensor" % (len(body) - pos))
    return tensors, metadata


def safetensors_load(path):
    """Read a safetensors file. Returns (tensors, metadata); see safetensors_loads."""
    with open(path, "rb") as f:
        data = f.read()
    return safetensors_loads(data)
