/*
 * addr.c - parse and format the listener address forms of chatd.conf.
 *
 * Only numeric addresses are accepted (plus "localhost", which is fixed
 * to 127.0.0.1 rather than looked up): reading the configuration must
 * never block on a resolver, and a name that resolves differently on
 * each reload would make listener identity unstable.
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "addr.h"
#include "quote.h"

#define ADDRESS_FORMS_HINT "expected HOST:PORT, [V6]:PORT, *:PORT or unix:PATH"

/* The longest path that still leaves room for the terminating NUL, so
 * that sun_path is always a C string for the code that reads it back. */
#define UNIX_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

static int addr_error(char *err, size_t errlen, const char *spec,
    const char *reason)
{
	char q[160];

	if (errlen > 0) {
		quote(spec, q, sizeof(q));
		snprintf(err, errlen, "invalid address \"%s\": %s", q, reason);
	}
	return -1;
}

/* Decimal digits only: "0x50", "+80" or " 80" are typos, not ports. */
static int parse_port(const char *s, in_port_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = htons((in_port_t)v);
	return 0;
}

/* An interface index; 0 (invalid) when it does not fit 32 bits. */
static uint32_t parse_scope_index(const char *s)
{
	unsigned long long v = 0;

	for (; *s != '\0'; s++) {
		v = v * 10 + (unsigned long long)(*s - '0');
		if (v > UINT32_MAX)
			return 0;
	}
	return (uint32_t)v;
}

/* Splits "HOST:PORT" at the last colon; host is copied into buf. */
static int split_port(const char *s, char *buf, size_t n, const char **port)
{
	const char *colon = strrchr(s, ':');
	size_t hlen;

	if (colon == NULL)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen >= n)
		return -1;
	memcpy(buf, s, hlen);
	buf[hlen] = '\0';
	*port = colon + 1;
	return 0;
}

static int parse_unix(const char *spec, const char *path, struct addr *out,
    char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)&out->ss;
	size_t len = strlen(path);
	char reason[64];

	if (len == 0)
		return addr_error(err, errlen, spec, "unix socket path is empty");
	if (len > UNIX_PATH_MAX) {
		snprintf(reason, sizeof(reason),
		    "unix socket path is longer than %zu bytes", UNIX_PATH_MAX);
		return addr_error(err, errlen, spec, reason);
	}
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1);
	return 0;
}

static void set_in4(struct addr *out, struct in_addr ia, in_port_t port)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;

	sin->sin_family = AF_INET;
	sin->sin_addr = ia;
	sin->sin_port = port;
	out->len = sizeof(*sin);
}

/* "[V6]:PORT" or "[V6%scope]:PORT"; s points at the '['. */
static int parse_v6(const char *spec, const char *s, struct addr *out,
    char *err, size_t errlen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	const char *close = strchr(s, ']');
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *scope;
	size_t hlen;
	in_port_t port;

	if (close == NULL || close[1] != ':')
		return addr_error(err, errlen, spec, ADDRESS_FORMS_HINT);
	hlen = (size_t)(close - s - 1);
	if (hlen == 0 || hlen >= sizeof(host))
		return addr_error(err, errlen, spec, "invalid IPv6 address");
	memcpy(host, s + 1, hlen);
	host[hlen] = '\0';
	if (parse_port(close + 2, &port) < 0)
		return addr_error(err, errlen, spec, "port must be 1-65535");

	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = port;
	scope = strchr(host, '%');
	if (scope != NULL) {
		*scope++ = '\0';
		/* A numeric scope is an interface index; anything else is an
		 * interface name (a local lookup, not DNS). */
		if (*scope == '\0')
			return addr_error(err, errlen, spec, "empty IPv6 scope");
		if (strspn(scope, "0123456789") == strlen(scope))
			sin6->sin6_scope_id = parse_scope_index(scope);
		else
			sin6->sin6_scope_id = if_nametoindex(scope);
		if (sin6->sin6_scope_id == 0)
			return addr_error(err, errlen, spec, "unknown IPv6 scope");
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
		return addr_error(err, errlen, spec, "invalid IPv6 address");
	out->len = sizeof(*sin6);
	return 0;
}

/* "*:PORT": the IPv6 wildcard, which the listener makes dual-stack. */
static int parse_any(const char *spec, const char *s, struct addr *out,
    char *err, size_t errlen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;
	in_port_t port;

	if (parse_port(s + 2, &port) < 0)
		return addr_error(err, errlen, spec, "port must be 1-65535");
	sin6->sin6_family = AF_INET6;
	sin6->sin6_addr = in6addr_any;
	sin6->sin6_port = port;
	out->len = sizeof(*sin6);
	out->any_dualstack = true;
	return 0;
}

/* "HOST:PORT" with a dotted-quad or "localhost" host. */
static int parse_v4(const char *spec, const char *s, struct addr *out,
    char *err, size_t errlen)
{
	char host[256];
	const char *portstr;
	struct in_addr ia;
	struct in6_addr ia6;
	in_port_t port;

	if (split_port(s, host, sizeof(host), &portstr) < 0 || host[0] == '\0')
		return addr_error(err, errlen, spec, ADDRESS_FORMS_HINT);
	if (inet_pton(AF_INET6, host, &ia6) == 1)
		return addr_error(err, errlen, spec,
		    "IPv6 addresses need brackets: [V6]:PORT");
	if (strchr(host, ':') != NULL)
		return addr_error(err, errlen, spec, ADDRESS_FORMS_HINT);
	if (parse_port(portstr, &port) < 0)
		return addr_error(err, errlen, spec, "port must be 1-65535");
	if (strcasecmp(host, "localhost") == 0)
		ia.s_addr = htonl(INADDR_LOOPBACK);
	else if (inet_pton(AF_INET, host, &ia) != 1)
		return addr_error(err, errlen, spec,
		    "host must be a numeric IPv4 address or localhost (no DNS)");
	set_in4(out, ia, port);
	return 0;
}

int addr_parse(const char *spec, struct addr *out, char *err, size_t errlen)
{
	const char *s = spec;

	memset(out, 0, sizeof(*out));
	out->socktype = SOCK_STREAM;
	if (strncmp(s, "udp:", 4) == 0) {
		out->socktype = SOCK_DGRAM;
		s += 4;
		if (strncmp(s, "unix:", 5) == 0)
			return addr_error(err, errlen, spec,
			    "udp: applies only to IP addresses");
	} else if (strncmp(s, "unix:", 5) == 0) {
		return parse_unix(spec, s + 5, out, err, errlen);
	}
	if (s[0] == '[')
		return parse_v6(spec, s, out, err, errlen);
	if (s[0] == '*' && s[1] == ':')
		return parse_any(spec, s, out, err, errlen);
	return parse_v4(spec, s, out, err, errlen);
}

/* Abstract (Linux) names start with a NUL; show it as '@' like ss(8). */
static void format_unix(const struct sockaddr_un *sun, socklen_t len,
    char *buf, size_t n)
{
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t plen = (size_t)len - off;
	char path[sizeof(sun->sun_path) + 1];

	if ((size_t)len <= off) {
		snprintf(buf, n, "unix:");
		return;
	}
	if (plen > sizeof(sun->sun_path))
		plen = sizeof(sun->sun_path);
	memcpy(path, sun->sun_path, plen);
	path[plen] = '\0';
	if (plen > 0 && path[0] == '\0')
		path[0] = '@';
	snprintf(buf, n, "unix:%s", path);
}

static void format_in6(const struct sockaddr_in6 *sin6, char *buf, size_t n)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port = ntohs(sin6->sin6_port);

	/* Peers reaching a dual-stack listener over IPv4 arrive as
	 * ::ffff:a.b.c.d; people know them by their IPv4 address. */
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		inet_ntop(AF_INET, &sin6->sin6_addr.s6_addr[12], host, sizeof(host));
		snprintf(buf, n, "%s:%u", host, port);
		return;
	}
	inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
	if (sin6->sin6_scope_id != 0)
		snprintf(buf, n, "[%s%%%u]:%u", host,
		    (unsigned)sin6->sin6_scope_id, port);
	else
		snprintf(buf, n, "[%s]:%u", host, port);
}

void addr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t n)
{
	char host[INET_ADDRSTRLEN];

	if (n == 0)
		return;
	if (sa == NULL || len < (socklen_t)sizeof(sa_family_t)) {
		snprintf(buf, n, "?");
		return;
	}
	switch (sa->sa_family) {
	case AF_INET:
		if ((size_t)len < sizeof(struct sockaddr_in))
			break;
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    host, sizeof(host));
		snprintf(buf, n, "%s:%u", host,
		    (unsigned)ntohs(((const struct sockaddr_in *)sa)->sin_port));
		return;
	case AF_INET6:
		if ((size_t)len < sizeof(struct sockaddr_in6))
			break;
		format_in6((const struct sockaddr_in6 *)sa, buf, n);
		return;
	case AF_UNIX:
		format_unix((const struct sockaddr_un *)sa, len, buf, n);
		return;
	}
	snprintf(buf, n, "?");
}

/* The meaningful bytes of a unix address: up to the first NUL for a
 * path (getsockname() may or may not count the NUL), all of them for an
 * abstract name, which starts with a NUL. */
static size_t unix_pathlen(const struct addr *a)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *)&a->ss;
	size_t off = offsetof(struct sockaddr_un, sun_path);
	size_t max;

	if ((size_t)a->len <= off)
		return 0;
	max = (size_t)a->len - off;
	if (max > sizeof(sun->sun_path))
		max = sizeof(sun->sun_path);
	if (sun->sun_path[0] == '\0')
		return max;
	return strnlen(sun->sun_path, max);
}

static bool unix_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_un *ua = (const struct sockaddr_un *)&a->ss;
	const struct sockaddr_un *ub = (const struct sockaddr_un *)&b->ss;
	size_t la = unix_pathlen(a), lb = unix_pathlen(b);

	return la == lb && memcmp(ua->sun_path, ub->sun_path, la) == 0;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->ss;

	if (a->ss.ss_family != b->ss.ss_family || a->socktype != b->socktype)
		return false;
	switch (a->ss.ss_family) {
	case AF_INET:
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	case AF_INET6:
		return a6->sin6_port == b6->sin6_port &&
		    a6->sin6_scope_id == b6->sin6_scope_id &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr,
		    sizeof(a6->sin6_addr)) == 0;
	case AF_UNIX:
		return unix_equal(a, b);
	}
	return false;
}

void addr_ipv4_fallback(const struct addr *in, struct addr *out)
{
	struct in_addr any;
	in_port_t port = 0;
	int socktype = in->socktype;

	if (in->ss.ss_family == AF_INET6)
		port = ((const struct sockaddr_in6 *)&in->ss)->sin6_port;
	else if (in->ss.ss_family == AF_INET)
		port = ((const struct sockaddr_in *)&in->ss)->sin_port;
	memset(out, 0, sizeof(*out));	/* in and out may be the same */
	any.s_addr = htonl(INADDR_ANY);
	set_in4(out, any, port);
	out->socktype = socktype;
	out->any_dualstack = false;
}
