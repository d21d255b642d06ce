/*
 * tls.h - TLS listeners (SPEC 15): a context per listener built from its
 * tls group, and the TLS transport behind the seam of transport.h.  Only
 * tls.c sees OpenSSL; nothing here names an OpenSSL type.
 *
 * A context is reference counted: each connection holds the one it was
 * accepted with, so a reload that swaps a listener's context leaves
 * established connections on their old certificate.
 */
#ifndef CHATD_TLS_H
#define CHATD_TLS_H

#include <stddef.h>

#include "config.h"

struct conn;
struct tls_ctx;

/* Builds a context from conf: certificate chain and key (checked to
 * match), client CA, versions, ciphers.  "credential:NAME" paths come
 * from $CREDENTIALS_DIRECTORY, relative ones from the directory of
 * conf->file.  NULL with "FILE:LINE: listener NAME: ..." and OpenSSL's
 * reason in err on failure. */
struct tls_ctx *tls_ctx_new(const struct tls_conf *conf, const char *name,
    char *err, size_t errlen);
/* Drops the listener's reference (NULL is fine). */
void tls_ctx_free(struct tls_ctx *);

/* Puts c on the TLS transport with ctx (conn_start() then runs the
 * handshake in the loop).  Returns -1 when out of memory. */
int tls_conn_attach(struct conn *c, struct tls_ctx *ctx);

/* The SSL_CTX behind ctx (for the fuzz target; chatd itself needs no
 * OpenSSL type outside tls.c). */
void *tls_ctx_ssl_ctx(struct tls_ctx *ctx);

/* "OpenSSL 3.0.22 1 Jul 2025", for chatd -V. */
const char *tls_library_version(void);

#endif
