/*
 * fuzz_addr.c - libFuzzer target for address parsing and formatting.
 *
 * The input is parsed as a bind address; what parses must format and
 * parse back to the same endpoint.  The same bytes are also formatted
 * as a raw socket address, as a peer address from the kernel would be.
 */
#include "autoconfig.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Peers on a dual-stack socket are shown by their IPv4 address, so
 * ::ffff:a.b.c.d is the one form that does not round-trip. */
static bool v4mapped(const struct addr *a)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	return a->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr);
}

static void round_trip(const struct addr *a)
{
	char buf[ADDR_STRLEN], err[256];
	struct addr b, c;

	addr_format((const struct sockaddr *)&a->ss, a->len, buf, sizeof(buf));
	if (strlen(buf) >= ADDR_STRLEN - 1)
		abort();	/* ADDR_STRLEN is meant to be enough */
	if (addr_parse(buf, &b, err, sizeof(err)) != 0) {
		if (!v4mapped(a))
			abort();
		return;
	}
	b.socktype = a->socktype;	/* "udp:" is not part of the format */
	if (!v4mapped(a) && !addr_equal(a, &b))
		abort();
	addr_ipv4_fallback(a, &c);
	if (c.ss.ss_family != AF_INET || c.any_dualstack)
		abort();
}

static void format_raw(const uint8_t *data, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = size < sizeof(ss) ? (socklen_t)size : sizeof(ss);
	char buf[ADDR_STRLEN];

	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, data, len);
	addr_format((const struct sockaddr *)&ss, len, buf, sizeof(buf));
	addr_format((const struct sockaddr *)&ss, len, buf, 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *spec = malloc(size + 1);
	char err[64];
	struct addr a;

	if (spec == NULL)
		return 0;
	memcpy(spec, data, size);
	spec[size] = '\0';
	err[0] = '\0';
	if (addr_parse(spec, &a, err, sizeof(err)) == 0)
		round_trip(&a);
	else if (strncmp(err, "invalid address", 15) != 0)
		abort();
	format_raw(data, size);
	free(spec);
	return 0;
}
