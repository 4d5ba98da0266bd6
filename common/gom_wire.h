/*  gom_wire: one protobuf Envelope per single-frame ZeroMQ message.
    Decoding runs protobuf-c with a byte budget, because a small message can
    unpack into many times its size (PITFALLS.md 7), and then checks what
    protobuf cannot: the protocol version and that a body is present.
    Well-formed is not valid: callers still check the body's fields. */
#ifndef GOM_WIRE_H
#define GOM_WIRE_H

#include "gom.pb-c.h"
#include <stddef.h>
#include <stdint.h>

#define GOM_PROTOCOL_VERSION 1

typedef struct _gom_wire_msg_t gom_wire_msg_t;

typedef enum {
    GOM_WIRE_OK = 0,
    GOM_WIRE_MALFORMED,  //  not a protobuf Envelope, or over budget
    GOM_WIRE_VERSION,    //  a protocol version we do not speak
    GOM_WIRE_EMPTY       //  no body
} gom_wire_status_t;

//  Decodes data[0..len) with at most budget bytes of allocation. Always
//  returns a message object (free with gom_wire_msg_destroy); its status
//  says whether env is usable; err describes the failure.
gom_wire_msg_t *gom_wire_decode (const uint8_t *data, size_t len,
                                 size_t budget);
//  The same, and for an envelope that carries a Report and nothing else,
//  keeps the report's bytes as they came (gom_wire_report_bytes): the hub
//  stores them, instead of packing the report again.
gom_wire_msg_t *gom_wire_decode_keeping (const uint8_t *data, size_t len,
                                         size_t budget);
//  The report's bytes as they came (they unpack to gom_wire_env's report),
//  living as long as the message; NULL if not kept.
const uint8_t *gom_wire_report_bytes (gom_wire_msg_t *self, size_t *len);
gom_wire_status_t gom_wire_status (gom_wire_msg_t *self);
const char *gom_wire_error (gom_wire_msg_t *self);
Gom__Envelope *gom_wire_env (gom_wire_msg_t *self);
//  The version the peer sent (valid when status is OK or VERSION).
uint32_t gom_wire_version (gom_wire_msg_t *self);
void gom_wire_msg_destroy (gom_wire_msg_t **self_p);

//  Packs env (its version is set here) into a new buffer; *len gets its
//  size; caller frees. NULL on allocation failure.
uint8_t *gom_wire_encode (Gom__Envelope *env, size_t *len);
//  The same into buf (cap bytes) when it fits, returning buf; else into a
//  new buffer, returned (the caller frees what is not buf). NULL on
//  allocation failure.
uint8_t *gom_wire_encode_into (Gom__Envelope *env, uint8_t *buf, size_t cap,
                               size_t *len);

#endif

#ifndef GOM_WIRE_WRAP
#define GOM_WIRE_WRAP
//  Wraps an already packed Report in an Envelope of this protocol version
//  without unpacking it (protobuf fields concatenate). Caller frees.
uint8_t *gom_wire_wrap_report (const uint8_t *report, size_t len,
                               size_t *out_len);
#endif
