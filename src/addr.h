/*
 * addr.h - listener addresses as written in chatd.conf, and peer names.
 *
 * Accepted forms: HOST:PORT (numeric IPv4 or "localhost"), [V6]:PORT,
 * *:PORT (dual-stack where possible), unix:PATH, and udp: before any of
 * the IP forms.  Names are never resolved through DNS: a daemon must not
 * block on a resolver while reading its configuration.
 */
#ifndef CHATD_ADDR_H
#define CHATD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* Big enough for "unix:" + a full sun_path, or "[v6%scope]:65535". */
#define ADDR_STRLEN 128

struct addr {
	struct sockaddr_storage ss;
	socklen_t len;
	int socktype;		/* SOCK_STREAM or SOCK_DGRAM */
	bool any_dualstack;	/* "*:PORT": [::] with IPV6_V6ONLY off, else 0.0.0.0 */
};

/* Parses spec into out.  Returns 0, or -1 with a one-line reason in err. */
int addr_parse(const char *spec, struct addr *out, char *err, size_t errlen);

/* Formats a socket address as HOST:PORT, [V6]:PORT or unix:PATH. */
void addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t n);

/* True when both name the same local endpoint (family, address, port or
 * path, and socket type). */
bool addr_equal(const struct addr *, const struct addr *);

/* The IPv4 wildcard that "*:PORT" falls back to when IPv6 is unavailable. */
void addr_ipv4_fallback(const struct addr *in, struct addr *out);

#endif
