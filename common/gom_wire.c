/*  gom_wire: see gom_wire.h. */
#include "gom_wire.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _gom_wire_msg_t {
    ProtobufCAllocator alloc;  //  budgeted allocator used to unpack
    size_t used;               //  bytes handed out so far
    size_t budget;             //  most bytes we hand out
    Gom__Envelope *env;        //  decoded envelope, or NULL
    gom_wire_status_t status;  //  what went wrong, if anything
    uint32_t version;          //  the sender's protocol version
    char error [128];          //  one line for logs and NACKs
};

static void *
s_alloc (void *data, size_t size)
{
    gom_wire_msg_t *self = data;
    if (size > self->budget - self->used)
        return NULL;
    self->used += size;
    return malloc (size);
}

static void
s_free (void *data, void *ptr)
{
    (void)data;
    free (ptr);
}

gom_wire_msg_t *
gom_wire_decode (const uint8_t *data, size_t len, size_t budget)
{
    gom_wire_msg_t *self = calloc (1, sizeof *self);
    assert (self);
    self->alloc.alloc = s_alloc;
    self->alloc.free = s_free;
    self->alloc.allocator_data = self;
    self->budget = budget;
    self->env = gom__envelope__unpack (&self->alloc, len, data);
    if (!self->env) {
        self->status = GOM_WIRE_MALFORMED;
        snprintf (self->error, sizeof self->error,
                  self->used >= self->budget / 2
                      ? "frame of %zu bytes is not a gom envelope (or too "
                        "large once decoded)"
                      : "frame of %zu bytes is not a gom envelope",
                  len);
        return self;
    }
    self->version = self->env->version;
    if (self->env->version != GOM_PROTOCOL_VERSION) {
        self->status = GOM_WIRE_VERSION;
        snprintf (self->error, sizeof self->error,
                  "protocol version %u is not spoken here (this side speaks "
                  "%u)",
                  self->env->version, GOM_PROTOCOL_VERSION);
    }
    else if (self->env->body_case == GOM__ENVELOPE__BODY__NOT_SET) {
        self->status = GOM_WIRE_EMPTY;
        snprintf (self->error, sizeof self->error,
                  "envelope has no body (or a body type unknown here)");
    }
    return self;
}

gom_wire_status_t
gom_wire_status (gom_wire_msg_t *self)
{
    return self->status;
}

const char *
gom_wire_error (gom_wire_msg_t *self)
{
    return self->error;
}

Gom__Envelope *
gom_wire_env (gom_wire_msg_t *self)
{
    return self->status == GOM_WIRE_OK ? self->env : NULL;
}

uint32_t
gom_wire_version (gom_wire_msg_t *self)
{
    return self->version;
}

void
gom_wire_msg_destroy (gom_wire_msg_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    gom_wire_msg_t *self = *self_p;
    if (self->env)
        gom__envelope__free_unpacked (self->env, &self->alloc);
    free (self);
    *self_p = NULL;
}

uint8_t *
gom_wire_encode (Gom__Envelope *env, size_t *len)
{
    env->version = GOM_PROTOCOL_VERSION;
    size_t size = gom__envelope__get_packed_size (env);
    uint8_t *buf = malloc (size ? size : 1);
    if (!buf)
        return NULL;
    *len = gom__envelope__pack (env, buf);
    return buf;
}

uint8_t *
gom_wire_wrap_report (const uint8_t *report, size_t len, size_t *out_len)
{
    //  Envelope.version = 1 (field 1, varint), then Envelope.report (field
    //  12, length-delimited): tag 12 << 3 | 2 = 0x62, varint length, bytes.
    uint8_t *buf = malloc (len + 16);
    if (!buf)
        return NULL;
    size_t n = 0;
    buf [n++] = 0x08;
    buf [n++] = GOM_PROTOCOL_VERSION;
    buf [n++] = 0x62;
    size_t v = len;
    do {
        uint8_t byte = v & 0x7F;
        v >>= 7;
        buf [n++] = v ? (byte | 0x80) : byte;
    } while (v);
    memcpy (buf + n, report, len);
    *out_len = n + len;
    return buf;
}
