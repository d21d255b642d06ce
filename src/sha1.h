/*
 * sha1.h - SHA-1 for the WebSocket handshake (RFC 6455 4.2.2), nothing
 * else: SHA-1 is not used where collisions would matter.
 *
 * sha1_digest() is libcrypto's where chatd is built with TLS (sha1-openssl.c,
 * the only file of it that sees OpenSSL), else sha1_own(), which is always
 * built so that the unit test checks it in every configuration.
 */
#ifndef CHATD_SHA1_H
#define CHATD_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

void sha1_digest(const void *data, size_t len, uint8_t out[SHA1_LEN]);
void sha1_own(const void *data, size_t len, uint8_t out[SHA1_LEN]);

#endif
