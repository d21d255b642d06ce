/*
 * sha1-openssl.c - sha1_digest() by libcrypto, in builds with TLS (the
 * library is linked anyway; one SHA-1 fewer to trust).
 */
#include "autoconfig.h"

#include <openssl/sha.h>

#include "sha1.h"

void sha1_digest(const void *data, size_t len, uint8_t out[SHA1_LEN])
{
	SHA1(data, len, out);
}
