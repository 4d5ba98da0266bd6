/*  gom_transfer: transfer files (docs/transfer.md), the network's
    envelopes on a USB stick. A file is

        "GOMTRANSFER1\n"    13 bytes
        sender's key        32 bytes, the CURVE public key
        receiver's key      32 bytes
        nonce               24 bytes, random
        box                 crypto_box_easy of a packed Transfer

    so that only the receiver can open it and, opening it, knows that the
    holder of the sender's secret key made it, unchanged (libsodium's
    authenticated public-key encryption: the receiver could have made it
    too, which is no threat to itself). */
#ifndef GOM_TRANSFER_H
#define GOM_TRANSFER_H

#include "gom.pb-c.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GOM_TRANSFER_MAX (64 * 1048576)  //  largest file read

//  Appends an envelope to t, which takes data (malloc'd).
void gom_transfer_add (Gom__Transfer *t, uint8_t *data, size_t len);
//  Frees the envelopes of a Transfer built with gom_transfer_add.
void gom_transfer_clear (Gom__Transfer *t);

//  Seals t (its version is set here) from sender to receiver and writes it
//  to path atomically, mode 0600. 0, or -1 with err.
int gom_transfer_write (const char *path, Gom__Transfer *t,
                        const uint8_t *sender_public,
                        const uint8_t *sender_secret,
                        const uint8_t *receiver_public, char *err,
                        size_t errlen);

//  Whether to read on, once the seal opened: the sender's key; false with
//  err to stop (a key the hub does not know: nothing more is unpacked).
typedef bool (gom_transfer_accept_fn) (void *arg, const uint8_t *sender,
                                       char *err, size_t errlen);

//  Reads and opens the file at path made for receiver_public; asks accept
//  (may be NULL) about the sender's key, which it copies to sender_public.
//  The Transfer (free with gom__transfer__free_unpacked (t, NULL)), or
//  NULL with err saying what is wrong (not a transfer file, made for
//  another key, damaged or not made with the key it names, refused).
Gom__Transfer *gom_transfer_read (const char *path,
                                  const uint8_t *receiver_public,
                                  const uint8_t *receiver_secret,
                                  gom_transfer_accept_fn *accept, void *arg,
                                  uint8_t *sender_public, char *err,
                                  size_t errlen);

#endif
