/*
 * transport.h - how a connection moves bytes: a plain socket today, TLS
 * (tls.c) when a listener has a tls group.  conn.c calls only these hooks;
 * nothing above it knows which transport a connection has.
 *
 * A transport may need the socket in the other direction from the one the
 * caller asked for (a TLS read that must first write a record, a write
 * that must first read one): it says so in c->tr_want, which conn.c adds
 * to the selector interest until the next call of that hook.
 */
#ifndef CHATD_TRANSPORT_H
#define CHATD_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct conn;

enum transport_step {
	TRANSPORT_DONE = 1,	/* handshake complete: the protocol may open */
	TRANSPORT_AGAIN = 0,	/* in progress; c->tr_want says what to wait for */
	TRANSPORT_FAILED = -1	/* give up; c->close_reason says why */
};

struct transport_ops {
	const char *name;
	/* Advances the handshake; NULL when there is none. */
	enum transport_step (*handshake)(struct conn *);
	/* As read(2): bytes, 0 at EOF, -1 with errno (EAGAIN: wait; see
	 * c->tr_want for the direction). */
	ssize_t (*read)(struct conn *, void *buf, size_t len);
	/* As writev(2): bytes taken (maybe fewer), -1 with errno. */
	ssize_t (*writev)(struct conn *, const struct iovec *iov, int iovcnt);
	/* Our side is done (close_notify, or shutdown(SHUT_WR)); -1 if the
	 * connection cannot linger and should simply be closed. */
	int (*shutdown)(struct conn *);
	/* Bytes already received and decoded that the selector will not
	 * report (SSL_pending); NULL for none. */
	size_t (*pending)(const struct conn *);
	/* Frees the transport's per-connection state (before close(2)). */
	void (*release)(struct conn *);
};

/* The plain socket transport (conn.c). */
extern const struct transport_ops transport_plain;

#endif
