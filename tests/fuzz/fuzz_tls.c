/*
 * fuzz_tls.c - libFuzzer target for the TLS server side: the input is
 * what a client sends, fed to a server-side SSL made from chatd's own
 * context (tls_ctx_new: its versions, ciphers, modes and options) over a
 * memory BIO, handshake first, then reads until the bytes run out.
 * The certificate and key are made once, at start, in a temporary
 * directory.
 */
#include "autoconfig.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "tls.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static SSL_CTX *ctx;

/* A self-signed P-256 certificate and its key, as PEM files in dir. */
static int make_cert(const char *cert, const char *key)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	FILE *f;
	int ok = 0;

	if (k == NULL || x == NULL)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400L * 365);
	X509_set_pubkey(x, k);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz", -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, k, EVP_sha256()) == 0)
		goto out;
	if ((f = fopen(cert, "w")) == NULL)
		goto out;
	ok = PEM_write_X509(f, x);
	fclose(f);
	if (ok && (f = fopen(key, "w")) != NULL) {
		ok = PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
		fclose(f);
	} else
		ok = 0;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return ok ? 0 : -1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char dir[] = "/tmp/chatd-fuzz-tls.XXXXXX", cert[64], key[64], err[1024];
	struct tls_conf conf = { 0 };
	struct tls_ctx *t;

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	if (make_cert(cert, key) == -1)
		abort();
	conf.cert = cert;
	conf.key = key;
	conf.min_version = 12;
	conf.handshake_timeout = 10.0;
	t = tls_ctx_new(&conf, "fuzz", err, sizeof(err));
	unlink(cert);
	unlink(key);
	rmdir(dir);
	if (t == NULL) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	ctx = tls_ctx_ssl_ctx(t);
	SSL_CTX_up_ref(ctx);
	tls_ctx_free(t);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	SSL *ssl = SSL_new(ctx);
	BIO *in = BIO_new(BIO_s_mem()), *out = BIO_new(BIO_s_mem());
	char buf[4096];

	if (ssl == NULL || in == NULL || out == NULL)
		abort();
	BIO_write(in, data, (int)size);
	BIO_set_mem_eof_return(in, -1);	/* out of bytes: WANT_READ, as a socket */
	SSL_set_bio(ssl, in, out);
	SSL_set_accept_state(ssl);
	if (SSL_do_handshake(ssl) == 1) {
		size_t n;

		while (SSL_read_ex(ssl, buf, sizeof(buf), &n) == 1)
			;
		SSL_write_ex(ssl, "x\r\n", 3, &n);
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	return 0;
}
