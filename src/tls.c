/*
 * tls.c - TLS listeners with OpenSSL 3 (SPEC 15): the per-listener
 * SSL_CTX built from a tls group, and the TLS transport of transport.h.
 *
 * Everything runs in the event loop on non-blocking sockets.  OpenSSL's
 * WANT_READ/WANT_WRITE become selector interest in c->tr_want, including
 * the inverted cases (a read that must write, a write that must read).
 * Records OpenSSL has read ahead are reported through ->pending, since
 * the selector cannot see them.  Writes are partial (ENABLE_PARTIAL_WRITE
 * with ACCEPT_MOVING_WRITE_BUFFER), so a queue of shared messages goes
 * out without a copy per recipient; small messages are gathered on the
 * stack into one record.  RELEASE_BUFFERS frees the record buffers of
 * idle connections.  Closing sends close_notify.
 */
#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conn.h"
#include "log.h"
#include "tls.h"
#include "transport.h"

/* TLS 1.2 ciphers when the tls group names none: forward secret AEAD
 * only (what testssl.sh and Mozilla's "intermediate" profile accept). */
#define DEFAULT_CIPHERS "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL"

/* Messages shorter than this are copied into one record with their
 * neighbours; longer ones are handed to SSL_write where they lie. */
#define GATHER_MAX 16384

struct tls_ctx {
	SSL_CTX *ctx;
};

/* Per connection, behind c->tr. */
struct tls_conn {
	SSL *ssl;
	bool dead;		/* fatal error: no close_notify, no more I/O */
	bool shut_owed;		/* close_notify waits for a writable socket */
	bool drained;		/* last read ended at WANT_READ: nothing buffered */
	bool deferred;		/* data returned before an EOF or error: read again */
};

/* ---- errors ---------------------------------------------------------- */

/* snprintf for messages that may be cut short. */
static void say(char *buf, size_t len, const char *fmt, ...) LOG_PRINTF(3, 4);
static void say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

/* OpenSSL's reasons from its error queue, oldest first, into buf. */
static const char *ssl_reasons(char *buf, size_t len)
{
	unsigned long e;
	size_t used = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0) {
		const char *r = ERR_reason_error_string(e);
		char code[32];
		int n;

		if (r == NULL) {
			snprintf(code, sizeof(code), "error %#lx", e);
			r = code;
		}
		if (used > 0 && strstr(buf, r) != NULL)
			continue;	/* the same reason from another layer */
		n = snprintf(buf + used, len - used, "%s%s", used > 0 ? ": " : "", r);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (used == 0)
		snprintf(buf, len, "unknown OpenSSL error");
	return buf;
}

/* ---- the context ----------------------------------------------------- */

/* A key with a passphrase cannot be asked for: fail instead of prompting. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* The file a configured path means: credential:NAME is the file NAME
 * in $CREDENTIALS_DIRECTORY (systemd LoadCredential=).  Relative paths
 * were made absolute when the config was read. */
static int resolve(const char *path, char *out, size_t len, char *why, size_t whylen)
{
	const char *name, *dir;

	if (strncmp(path, "credential:", 11) != 0) {
		if ((size_t)snprintf(out, len, "%s", path) >= len) {
			say(why, whylen, "path too long");
			return -1;
		}
		return 0;
	}
	name = path + 11;
	if (*name == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0) {
		say(why, whylen, "a credential name is one file name");
		return -1;
	}
	dir = getenv("CREDENTIALS_DIRECTORY");
	if (dir == NULL || *dir == '\0') {
		say(why, whylen, "$CREDENTIALS_DIRECTORY is not set "
		    "(LoadCredential= in the service unit)");
		return -1;
	}
	if ((size_t)snprintf(out, len, "%s/%s", dir, name) >= len) {
		say(why, whylen, "path too long");
		return -1;
	}
	return 0;
}

/* Loads one file of the group with load(); "" on success, else the
 * message in why. */
static int load_file(SSL_CTX *ctx, const char *what, const char *path,
    int (*load)(SSL_CTX *, const char *), char *why, size_t whylen)
{
	char file[4096], reason[400];

	if (resolve(path, file, sizeof(file), reason, sizeof(reason)) == -1) {
		say(why, whylen, "%s \"%s\": %s", what, path, reason);
		return -1;
	}
	if (access(file, R_OK) == -1) {
		say(why, whylen, "%s \"%s\": %s", what, file, strerror(errno));
		return -1;
	}
	ERR_clear_error();
	if (load(ctx, file) != 1) {
		say(why, whylen, "%s \"%s\": %s", what, file,
		    ssl_reasons(reason, sizeof(reason)));
		return -1;
	}
	return 0;
}

static int load_cert(SSL_CTX *ctx, const char *file)
{
	return SSL_CTX_use_certificate_chain_file(ctx, file);
}

static int load_key(SSL_CTX *ctx, const char *file)
{
	return SSL_CTX_use_PrivateKey_file(ctx, file, SSL_FILETYPE_PEM);
}

/* Clients must present a certificate signed by one in the bundle. */
static int load_ca(SSL_CTX *ctx, const char *file)
{
	STACK_OF(X509_NAME) *names;

	if (SSL_CTX_load_verify_locations(ctx, file, NULL) != 1)
		return 0;
	names = SSL_load_client_CA_file(file);
	if (names == NULL)
		return 0;
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	return 1;
}

static int setup(SSL_CTX *ctx, const struct tls_conf *conf, char *why, size_t whylen)
{
	static const unsigned char sid_ctx[] = "chatd";
	char reason[400];

	ERR_clear_error();
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	if (SSL_CTX_set_min_proto_version(ctx, conf->min_version == 13 ?
	    TLS1_3_VERSION : TLS1_2_VERSION) != 1)
		goto openssl;
	/* No client renegotiation (a CPU sink), our cipher order, a peer
	 * that closes without close_notify is an EOF (chat's leave). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_dh_auto(ctx, 1);
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1) != 1)
		goto openssl;
	if (SSL_CTX_set_cipher_list(ctx, conf->ciphers != NULL ? conf->ciphers :
	    DEFAULT_CIPHERS) != 1) {
		say(why, whylen, "ciphers \"%s\": %s",
		    conf->ciphers != NULL ? conf->ciphers : DEFAULT_CIPHERS,
		    ssl_reasons(reason, sizeof(reason)));
		return -1;
	}
	if (conf->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, conf->ciphersuites) != 1) {
		say(why, whylen, "ciphersuites \"%s\": %s", conf->ciphersuites,
		    ssl_reasons(reason, sizeof(reason)));
		return -1;
	}
	if (load_file(ctx, "cert", conf->cert, load_cert, why, whylen) == -1 ||
	    load_file(ctx, "key", conf->key, load_key, why, whylen) == -1)
		return -1;
	ERR_clear_error();
	if (SSL_CTX_check_private_key(ctx) != 1) {
		say(why, whylen, "key \"%s\" does not match cert \"%s\": %s", conf->key,
		    conf->cert, ssl_reasons(reason, sizeof(reason)));
		return -1;
	}
	if (conf->ca != NULL && load_file(ctx, "ca", conf->ca, load_ca, why, whylen) == -1)
		return -1;
	return 0;
openssl:
	say(why, whylen, "%s", ssl_reasons(reason, sizeof(reason)));
	return -1;
}

struct tls_ctx *tls_ctx_new(const struct tls_conf *conf, const char *name,
    char *err, size_t errlen)
{
	struct tls_ctx *t = calloc(1, sizeof(*t));
	char why[1024], reason[400];

	if (t == NULL) {
		say(err, errlen, "%s:%d: listener %s: tls: out of memory",
		    conf->file ? conf->file : "-", conf->line, name);
		return NULL;
	}
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (t->ctx == NULL) {
		say(why, sizeof(why), "%s", ssl_reasons(reason, sizeof(reason)));
		goto fail;
	}
	if (setup(t->ctx, conf, why, sizeof(why)) == -1)
		goto fail;
	return t;
fail:
	say(err, errlen, "%s:%d: listener %s: tls: %s",
	    conf->file ? conf->file : "-", conf->line, name, why);
	tls_ctx_free(t);
	return NULL;
}

void tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);	/* connections hold references of their own */
	free(t);
}

void *tls_ctx_ssl_ctx(struct tls_ctx *t)
{
	return t->ctx;
}

const char *tls_library_version(void)
{
	return OpenSSL_version(OPENSSL_VERSION);
}

/* ---- the transport --------------------------------------------------- */

static const char *listener_name(const struct conn *c)
{
	return c->ep->conf->name;
}

/* A fatal error: logged at info with OpenSSL's reason; the connection
 * sends nothing more. */
static void fatal(struct conn *c, struct tls_conn *t, int err, const char *during)
{
	char reason[400];
	long v;

	t->dead = true;
	SSL_set_quiet_shutdown(t->ssl, 1);
	if (err == SSL_ERROR_SYSCALL) {
		ERR_clear_error();
		say(reason, sizeof(reason), "%s", errno != 0 ? strerror(errno) :
		    "connection closed");
	} else if (err == SSL_ERROR_ZERO_RETURN) {
		say(reason, sizeof(reason), "closed by the client");
	} else if ((v = SSL_get_verify_result(t->ssl)) != X509_V_OK) {
		ERR_clear_error();
		say(reason, sizeof(reason), "client certificate: %s",
		    X509_verify_cert_error_string(v));
	} else
		ssl_reasons(reason, sizeof(reason));
	log_client(LOG_INFO, listener_name(c), c->name, "TLS %s failed: %s", during, reason);
}

static enum transport_step tls_handshake(struct conn *c)
{
	struct tls_conn *t = c->tr;
	int r, e;

	ERR_clear_error();
	errno = 0;
	r = SSL_accept(t->ssl);
	if (r == 1) {
		t->drained = false;	/* data may have come with the Finished */
		log_client(LOG_DEBUG, listener_name(c), c->name, "%s %s",
		    SSL_get_version(t->ssl), SSL_get_cipher_name(t->ssl));
		return TRANSPORT_DONE;
	}
	e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		c->tr_want = SEL_READ;
		return TRANSPORT_AGAIN;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		c->tr_want = SEL_WRITE;
		return TRANSPORT_AGAIN;
	}
	fatal(c, t, e, "handshake");
	c->close_reason = "TLS handshake failed";
	return TRANSPORT_FAILED;
}

/* Retries a close_notify the socket did not take. */
static int finish_shutdown(struct conn *c, struct tls_conn *t)
{
	int r;

	ERR_clear_error();
	r = SSL_shutdown(t->ssl);
	if (r >= 0) {
		t->shut_owed = false;
		(void)shutdown(c->fd, SHUT_WR);
		return 0;
	}
	if (SSL_get_error(t->ssl, r) == SSL_ERROR_WANT_WRITE) {
		t->shut_owed = true;
		c->tr_want = SEL_WRITE;
		return 0;
	}
	ERR_clear_error();
	t->dead = true;
	return -1;
}

static ssize_t tls_read(struct conn *c, void *buf, size_t len)
{
	struct tls_conn *t = c->tr;
	size_t got = 0;

	if (t->dead) {
		errno = EPROTO;
		return -1;
	}
	if (t->shut_owed && finish_shutdown(c, t) == -1) {
		errno = EPIPE;
		return -1;
	}
	t->deferred = false;
	/* Several records per call, up to len: fewer trips through the
	 * protocol, and what is left is known to OpenSSL (->pending). */
	while (got < len) {
		size_t n;
		int e;

		ERR_clear_error();
		errno = 0;
		if (SSL_read_ex(t->ssl, (char *)buf + got, len - got, &n) == 1) {
			got += n;
			continue;
		}
		e = SSL_get_error(t->ssl, 0);
		if (e == SSL_ERROR_WANT_READ) {
			t->drained = true;
			break;
		}
		if (e == SSL_ERROR_WANT_WRITE) {
			c->tr_want = SEL_WRITE;
			break;
		}
		if (got > 0) {
			/* The EOF or error comes again on the next call, which
			 * ->pending asks for: the socket may never say so. */
			ERR_clear_error();
			t->deferred = true;
			return (ssize_t)got;
		}
		if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) {
			ERR_clear_error();
			return 0;
		}
		if (e == SSL_ERROR_SYSCALL) {
			int saved = errno;

			ERR_clear_error();
			t->dead = true;
			errno = saved;
			return -1;
		}
		fatal(c, t, e, "read");
		errno = EPROTO;
		return -1;
	}
	if (got == len)
		t->drained = false;
	if (got > 0)
		return (ssize_t)got;
	errno = EAGAIN;
	return -1;
}

/* One SSL_write of n bytes; bytes taken, or -1 with errno. */
static ssize_t write_chunk(struct conn *c, struct tls_conn *t, const void *p, size_t n)
{
	size_t w;
	int e;

	ERR_clear_error();
	errno = 0;
	if (SSL_write_ex(t->ssl, p, n, &w) == 1)
		return (ssize_t)w;
	e = SSL_get_error(t->ssl, 0);
	if (e == SSL_ERROR_WANT_WRITE) {
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_WANT_READ) {
		c->tr_want = SEL_READ;
		errno = EAGAIN;
		return -1;
	}
	if (e == SSL_ERROR_SYSCALL) {
		int saved = errno != 0 ? errno : EPIPE;

		ERR_clear_error();
		t->dead = true;
		SSL_set_quiet_shutdown(t->ssl, 1);
		errno = saved;
		return -1;
	}
	fatal(c, t, e, "write");
	errno = EPROTO;
	return -1;
}

/*
 * The next chunk of iov (its first skip bytes already sent) for
 * SSL_write, at *p with its length: a long buffer where it lies, else
 * it and the buffers that follow gathered into buf, up to GATHER_MAX.
 * For a given queue front the chunk only grows as the queue does, which
 * is what a retried SSL_write needs (at least the bytes of the record
 * it is still sending).
 */
static size_t next_chunk(const struct iovec *iov, int n, size_t skip, char *buf,
    const void **p)
{
	const char *b0 = (const char *)iov[0].iov_base + skip;
	size_t used = iov[0].iov_len - skip;

	if (used >= GATHER_MAX || n == 1) {
		*p = b0;
		return used;
	}
	memcpy(buf, b0, used);
	for (int i = 1; i < n && used < GATHER_MAX; i++) {
		size_t take = iov[i].iov_len;

		if (take > GATHER_MAX - used)
			take = GATHER_MAX - used;
		memcpy(buf + used, iov[i].iov_base, take);
		used += take;
	}
	*p = buf;
	return used;
}

static ssize_t tls_writev(struct conn *c, const struct iovec *iov, int n)
{
	struct tls_conn *t = c->tr;
	char gather[GATHER_MAX];
	size_t total = 0, skip = 0;

	if (t->dead) {
		errno = EPIPE;
		return -1;
	}
	while (n > 0) {
		const void *p;
		size_t len, done;
		ssize_t w;

		if (iov[0].iov_len == skip) {	/* empty or used up */
			iov++;
			n--;
			skip = 0;
			continue;
		}
		len = next_chunk(iov, n, skip, gather, &p);
		w = write_chunk(c, t, p, len);
		if (w == -1)
			return total > 0 ? (ssize_t)total : -1;
		total += (size_t)w;
		for (done = (size_t)w; done > 0;) {	/* past what was taken */
			size_t left = iov[0].iov_len - skip;

			if (done < left) {
				skip += done;
				break;
			}
			done -= left;
			iov++;
			n--;
			skip = 0;
		}
	}
	return (ssize_t)total;
}

static int tls_shutdown(struct conn *c)
{
	struct tls_conn *t = c->tr;

	if (t->dead)
		return -1;
	return finish_shutdown(c, t);
}

static size_t tls_pending(const struct conn *c)
{
	const struct tls_conn *t = c->tr;
	int n;

	if (t->dead)
		return 0;
	if (t->deferred)
		return 1;
	n = SSL_pending(t->ssl);
	if (n > 0)
		return (size_t)n;
	/* Read ahead but not yet a whole record? Only worth a look when
	 * the last read stopped for room, not for lack of data. */
	return !t->drained && SSL_has_pending(t->ssl) ? 1 : 0;
}

static void tls_release(struct conn *c)
{
	struct tls_conn *t = c->tr;

	if (t == NULL)
		return;
	SSL_free(t->ssl);
	free(t);
	c->tr = NULL;
}

static const struct transport_ops transport_tls = {
	.name = "tls",
	.handshake = tls_handshake,
	.read = tls_read,
	.writev = tls_writev,
	.shutdown = tls_shutdown,
	.pending = tls_pending,
	.release = tls_release,
};

int tls_conn_attach(struct conn *c, struct tls_ctx *ctx)
{
	struct tls_conn *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	ERR_clear_error();
	t->ssl = SSL_new(ctx->ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, c->fd) != 1) {
		ERR_clear_error();
		SSL_free(t->ssl);
		free(t);
		return -1;
	}
	SSL_set_accept_state(t->ssl);
	t->drained = true;
	c->tr = t;
	c->tr_ops = &transport_tls;
	return 0;
}
