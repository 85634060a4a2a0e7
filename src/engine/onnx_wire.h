/* onnx_wire.h: finding the weights' bytes in an ONNX file without copying them.
 *
 * protobuf-c copies every bytes field it unpacks, so parsing a mapped .onnx file holds the weights
 * twice (the mapping and the copy): 954 MiB at peak for GPT-2 124M's 475 MiB file. This reads the
 * protobuf wire format just deep enough to take the main graph's initializers' raw_data out of the
 * bytes protobuf-c sees, and says where each lies in the file; the loader (onnx_load.c) then points
 * the parsed tensors at the mapping, and drops each tensor's pages once it is converted.
 *
 * This is not: a protobuf parser. Anything but the plain shape it expects (ModelProto.graph once,
 * GraphProto.initializer, TensorProto.raw_data at most once per tensor, wire types 0, 1, 2 and 5)
 * makes it decline, and the caller parses the file as it is: protobuf-c stays the judge of what is
 * valid and reports what is not.
 */
#ifndef AC_ENGINE_ONNX_WIRE_H
#define AC_ENGINE_ONNX_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Where one initializer's raw_data lies in the file (its payload, without tag and length). */
typedef struct ac__onnx_raw_ref {
    size_t offset;
    size_t len;
    int present;   /* 0: the initializer has no raw_data field (typed fields or external data) */
} ac__onnx_raw_ref;

/* Copies the ModelProto bytes data[0..len) into *out (malloc'd, *out_len bytes) without the
 * raw_data fields (TensorProto field 9) of ModelProto.graph's initializers, and writes into *refs
 * (malloc'd, *n_refs entries) where each initializer's raw_data lies in data: refs[i] belongs to
 * the graph's i-th initializer, in file order, as protobuf-c numbers them. Initializers of
 * subgraphs and Constant nodes keep their raw_data in the copy.
 * Returns 0, or -1 when it declines (the bytes are not the plain shape above, or no memory); then
 * *out and *refs are NULL. */
int ac__onnx_strip_raw_data(const uint8_t *data, size_t len, uint8_t **out, size_t *out_len,
                            ac__onnx_raw_ref **refs, size_t *n_refs);

#endif
