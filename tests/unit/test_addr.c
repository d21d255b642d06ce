/*
 * test_addr.c - every address form, every parse error, formatting round
 * trips, equality and the IPv4 fallback of "*:PORT".
 */
#include "autoconfig.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "addr.h"
#include "unit.h"

static const char *FORMS =
    "expected HOST:PORT, [V6]:PORT, *:PORT or unix:PATH";

static const struct sockaddr_in *in4(const struct addr *a)
{
	return (const struct sockaddr_in *)&a->ss;
}

static const struct sockaddr_in6 *in6(const struct addr *a)
{
	return (const struct sockaddr_in6 *)&a->ss;
}

static const struct sockaddr_un *un(const struct addr *a)
{
	return (const struct sockaddr_un *)&a->ss;
}

/* Parses spec, which must fail with exactly 'invalid address "spec": why'. */
static void expect_error(const char *spec, const char *why)
{
	char err[256], want[256];
	struct addr a;

	snprintf(want, sizeof(want), "invalid address \"%s\": %s", spec, why);
	err[0] = '\0';
	CHECK(addr_parse(spec, &a, err, sizeof(err)) == -1);
	CHECK_STR(err, want);
}

/* Parses spec and formats it back; the text must read want. */
static void expect_format(const char *spec, const char *want)
{
	char err[256] = "", buf[ADDR_STRLEN];
	struct addr a;

	CHECK(addr_parse(spec, &a, err, sizeof(err)) == 0);
	CHECK_STR(err, "");
	addr_format((const struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
	CHECK_STR(buf, want);
}

static void test_ipv4(void)
{
	struct addr a;
	char err[128];

	CHECK(addr_parse("1.2.3.4:80", &a, err, sizeof(err)) == 0);
	CHECK(a.ss.ss_family == AF_INET);
	CHECK(a.len == sizeof(struct sockaddr_in));
	CHECK(a.socktype == SOCK_STREAM);
	CHECK(!a.any_dualstack);
	CHECK(in4(&a)->sin_addr.s_addr == htonl(0x01020304));
	CHECK(ntohs(in4(&a)->sin_port) == 80);

	CHECK(addr_parse("localhost:1234", &a, err, sizeof(err)) == 0);
	CHECK(a.ss.ss_family == AF_INET);
	CHECK(in4(&a)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	CHECK(ntohs(in4(&a)->sin_port) == 1234);
	CHECK(addr_parse("LocalHost:1", &a, err, sizeof(err)) == 0);

	CHECK(addr_parse("0.0.0.0:65535", &a, err, sizeof(err)) == 0);
	CHECK(ntohs(in4(&a)->sin_port) == 65535);
	CHECK(in4(&a)->sin_addr.s_addr == htonl(INADDR_ANY));

	/* Leading zeros are still decimal. */
	CHECK(addr_parse("1.2.3.4:0080", &a, err, sizeof(err)) == 0);
	CHECK(ntohs(in4(&a)->sin_port) == 80);
}

static void test_ipv6(void)
{
	struct in6_addr lo = IN6ADDR_LOOPBACK_INIT;
	unsigned loidx = if_nametoindex("lo");
	struct addr a;
	char err[128];

	CHECK(addr_parse("[::1]:80", &a, err, sizeof(err)) == 0);
	CHECK(a.ss.ss_family == AF_INET6);
	CHECK(a.len == sizeof(struct sockaddr_in6));
	CHECK(a.socktype == SOCK_STREAM);
	CHECK(!a.any_dualstack);
	CHECK(memcmp(&in6(&a)->sin6_addr, &lo, sizeof(lo)) == 0);
	CHECK(ntohs(in6(&a)->sin6_port) == 80);
	CHECK(in6(&a)->sin6_scope_id == 0);

	CHECK(addr_parse("[2001:db8::42]:9001", &a, err, sizeof(err)) == 0);
	CHECK(in6(&a)->sin6_addr.s6_addr[15] == 0x42);

	/* An explicit [::] is not the dual-stack wildcard. */
	CHECK(addr_parse("[::]:80", &a, err, sizeof(err)) == 0);
	CHECK(!a.any_dualstack);

	CHECK(addr_parse("[fe80::1%7]:80", &a, err, sizeof(err)) == 0);
	CHECK(in6(&a)->sin6_scope_id == 7);
	if (loidx != 0) {
		CHECK(addr_parse("[fe80::1%lo]:80", &a, err, sizeof(err)) == 0);
		CHECK(in6(&a)->sin6_scope_id == loidx);
	}
}

static void test_any(void)
{
	struct addr a;
	char err[128];

	CHECK(addr_parse("*:1234", &a, err, sizeof(err)) == 0);
	CHECK(a.ss.ss_family == AF_INET6);
	CHECK(a.any_dualstack);
	CHECK(a.socktype == SOCK_STREAM);
	CHECK(memcmp(&in6(&a)->sin6_addr, &in6addr_any, sizeof(in6addr_any)) == 0);
	CHECK(ntohs(in6(&a)->sin6_port) == 1234);
}

static void test_unix(void)
{
	char spec[300], err[128];
	size_t max = sizeof(((struct sockaddr_un *)0)->sun_path) - 1;
	struct addr a;

	CHECK(addr_parse("unix:/run/chatd/chat.sock", &a, err, sizeof(err)) == 0);
	CHECK(a.ss.ss_family == AF_UNIX);
	CHECK(a.socktype == SOCK_STREAM);
	CHECK_STR(un(&a)->sun_path, "/run/chatd/chat.sock");
	CHECK(a.len == offsetof(struct sockaddr_un, sun_path) +
	    strlen("/run/chatd/chat.sock") + 1);

	/* Relative paths are allowed; unix: inside the path is just text. */
	CHECK(addr_parse("unix:chat.sock", &a, err, sizeof(err)) == 0);
	CHECK_STR(un(&a)->sun_path, "chat.sock");
	CHECK(addr_parse("unix:unix:x", &a, err, sizeof(err)) == 0);
	CHECK_STR(un(&a)->sun_path, "unix:x");

	/* The longest path that still fits with its NUL. */
	strcpy(spec, "unix:/");
	memset(spec + 6, 'x', max - 1);
	spec[5 + max] = '\0';
	CHECK(strlen(spec) == 5 + max);
	CHECK(addr_parse(spec, &a, err, sizeof(err)) == 0);
	CHECK(strlen(un(&a)->sun_path) == max);

	spec[5 + max] = 'x';
	spec[6 + max] = '\0';
	snprintf(err, sizeof(err), "unix socket path is longer than %zu bytes",
	    max);
	expect_error(spec, err);
	expect_error("unix:", "unix socket path is empty");
}

static void test_udp(void)
{
	struct addr a;
	char err[128];

	CHECK(addr_parse("udp:127.0.0.1:9001", &a, err, sizeof(err)) == 0);
	CHECK(a.socktype == SOCK_DGRAM);
	CHECK(a.ss.ss_family == AF_INET);
	CHECK(ntohs(in4(&a)->sin_port) == 9001);

	CHECK(addr_parse("udp:[::1]:9001", &a, err, sizeof(err)) == 0);
	CHECK(a.socktype == SOCK_DGRAM);
	CHECK(a.ss.ss_family == AF_INET6);

	CHECK(addr_parse("udp:*:9001", &a, err, sizeof(err)) == 0);
	CHECK(a.socktype == SOCK_DGRAM);
	CHECK(a.any_dualstack);

	CHECK(addr_parse("udp:localhost:7", &a, err, sizeof(err)) == 0);
	CHECK(a.socktype == SOCK_DGRAM);

	expect_error("udp:unix:/tmp/x", "udp: applies only to IP addresses");
	expect_error("udp:", FORMS);
	expect_error("udp:1.2.3.4:0", "port must be 1-65535");
}

static void test_errors(void)
{
	const char *port = "port must be 1-65535";
	const char *v4 = "host must be a numeric IPv4 address or localhost (no DNS)";

	expect_error("", FORMS);
	expect_error("chat", FORMS);
	expect_error("1.2.3.4", FORMS);
	expect_error(":80", FORMS);
	expect_error("tcp:1.2.3.4:80", FORMS);
	expect_error("1.2.3.4:", port);
	expect_error("1.2.3.4:0", port);
	expect_error("1.2.3.4:65536", port);
	expect_error("1.2.3.4:99999999999999999999", port);
	expect_error("1.2.3.4:+80", port);
	expect_error("1.2.3.4:-1", port);
	expect_error("1.2.3.4: 80", port);
	expect_error("1.2.3.4:0x50", port);
	expect_error("1.2.3.4:80 ", port);
	expect_error("1.2.3.4:http", port);
	expect_error("example.com:80", v4);
	expect_error("256.1.1.1:80", v4);
	expect_error("1.2.3:80", v4);
	expect_error(" 1.2.3.4:80", v4);
	expect_error("::1:80", "IPv6 addresses need brackets: [V6]:PORT");
	expect_error("[::1]", FORMS);
	expect_error("[::1", FORMS);
	expect_error("[::1]80", FORMS);
	expect_error("[::1]:", port);
	expect_error("[::1]:0", port);
	expect_error("[::1]:65536", port);
	expect_error("[]:80", "invalid IPv6 address");
	expect_error("[zz::1]:80", "invalid IPv6 address");
	expect_error("[1.2.3.4]:80", "invalid IPv6 address");
	expect_error("[::1%]:80", "empty IPv6 scope");
	expect_error("[fe80::1%no-such-if0]:80", "unknown IPv6 scope");
	expect_error("[fe80::1%0]:80", "unknown IPv6 scope");
	expect_error("[fe80::1%99999999999]:80", "unknown IPv6 scope");
	expect_error("*:", port);
	expect_error("*:0", port);
	expect_error("*", FORMS);
}

/* The spec is quoted the way a config string is written, and cut
 * short when long, so a message is one printable line. */
static void test_error_quoting(void)
{
	char spec[600], err[512];
	struct addr a;

	CHECK(addr_parse("a\n\"b\\\x7f", &a, err, sizeof(err)) == -1);
	CHECK_STR(err, "invalid address \"a\\n\\\"b\\\\\\x7f\": expected HOST:PORT, "
	    "[V6]:PORT, *:PORT or unix:PATH");
	memset(spec, 'x', sizeof(spec) - 1);
	spec[sizeof(spec) - 1] = '\0';
	CHECK(addr_parse(spec, &a, err, sizeof(err)) == -1);
	CHECK(strstr(err, "xxx...\": expected") != NULL);
	CHECK(strlen(err) < 250);
}

/* Errors never overrun a short buffer, and errlen 0 is allowed. */
static void test_error_buffer(void)
{
	char err[8];
	struct addr a;

	memset(err, 'z', sizeof(err));
	CHECK(addr_parse("nonsense", &a, err, 5) == -1);
	CHECK(strlen(err) == 4);
	CHECK(err[5] == 'z');
	CHECK(addr_parse("nonsense", &a, NULL, 0) == -1);
}

static void test_format(void)
{
	struct sockaddr_in6 m;
	struct sockaddr_un u;
	struct sockaddr sa;
	char buf[ADDR_STRLEN], small[6];

	expect_format("1.2.3.4:80", "1.2.3.4:80");
	expect_format("localhost:1234", "127.0.0.1:1234");
	expect_format("[::1]:80", "[::1]:80");
	expect_format("[2001:DB8:0:0::1]:443", "[2001:db8::1]:443");
	expect_format("[fe80::1%7]:80", "[fe80::1%7]:80");
	expect_format("*:1234", "[::]:1234");
	expect_format("unix:/run/chatd.sock", "unix:/run/chatd.sock");
	expect_format("udp:1.2.3.4:9", "1.2.3.4:9");

	/* A peer on a dual-stack socket shows its IPv4 address. */
	memset(&m, 0, sizeof(m));
	m.sin6_family = AF_INET6;
	m.sin6_port = htons(4242);
	inet_pton(AF_INET6, "::ffff:10.0.0.1", &m.sin6_addr);
	addr_format((struct sockaddr *)&m, sizeof(m), buf, sizeof(buf));
	CHECK_STR(buf, "10.0.0.1:4242");

	/* An unnamed unix peer: nothing after the family. */
	memset(&u, 0, sizeof(u));
	u.sun_family = AF_UNIX;
	addr_format((struct sockaddr *)&u, sizeof(sa_family_t), buf, sizeof(buf));
	CHECK_STR(buf, "unix:");
	addr_format((struct sockaddr *)&u, 0, buf, sizeof(buf));
	CHECK_STR(buf, "?");

	/* A path filling sun_path without a NUL is still bounded. */
	memset(u.sun_path, 'p', sizeof(u.sun_path));
	addr_format((struct sockaddr *)&u, sizeof(u), buf, sizeof(buf));
	CHECK(strncmp(buf, "unix:ppp", 8) == 0);
	CHECK(strlen(buf) == 5 + sizeof(u.sun_path));

	/* A Linux abstract name. */
	memset(&u, 0, sizeof(u));
	u.sun_family = AF_UNIX;
	memcpy(u.sun_path, "\0abs", 4);
	addr_format((struct sockaddr *)&u,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4), buf,
	    sizeof(buf));
	CHECK_STR(buf, "unix:@abs");

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_APPLETALK;
	addr_format(&sa, sizeof(sa), buf, sizeof(buf));
	CHECK_STR(buf, "?");

	/* Truncated IPv4: a too-short length is not read past. */
	sa.sa_family = AF_INET;
	addr_format(&sa, 4, buf, sizeof(buf));
	CHECK_STR(buf, "?");

	m.sin6_addr = in6addr_loopback;
	addr_format((struct sockaddr *)&m, sizeof(m), small, sizeof(small));
	CHECK_STR(small, "[::1]");
	addr_format((struct sockaddr *)&m, sizeof(m), small, 0);
}

static struct addr parsed(const char *spec)
{
	struct addr a;
	char err[128];

	CHECK(addr_parse(spec, &a, err, sizeof(err)) == 0);
	return a;
}

static void test_equal(void)
{
	struct addr a = parsed("127.0.0.1:1234"), b;
	struct sockaddr_un *u;

	b = parsed("localhost:1234");
	CHECK(addr_equal(&a, &b));
	b = parsed("127.0.0.1:1235");
	CHECK(!addr_equal(&a, &b));
	b = parsed("127.0.0.2:1234");
	CHECK(!addr_equal(&a, &b));
	b = parsed("udp:127.0.0.1:1234");
	CHECK(!addr_equal(&a, &b));
	b = parsed("[::1]:1234");
	CHECK(!addr_equal(&a, &b));

	a = parsed("[::1]:80");
	b = parsed("[0:0::1]:80");
	CHECK(addr_equal(&a, &b));
	b = parsed("[::2]:80");
	CHECK(!addr_equal(&a, &b));
	b = parsed("[::1%3]:80");
	CHECK(!addr_equal(&a, &b));

	/* "*:80" and "[::]:80" are the same socket as far as bind goes. */
	a = parsed("*:80");
	b = parsed("[::]:80");
	CHECK(addr_equal(&a, &b));
	b = parsed("udp:*:80");
	CHECK(!addr_equal(&a, &b));

	a = parsed("unix:/tmp/a");
	b = parsed("unix:/tmp/a");
	CHECK(addr_equal(&a, &b));
	b = parsed("unix:/tmp/b");
	CHECK(!addr_equal(&a, &b));
	b = parsed("unix:/tmp/ab");
	CHECK(!addr_equal(&a, &b));

	/* The same path with or without its NUL counted in len. */
	b = parsed("unix:/tmp/a");
	b.len--;
	CHECK(addr_equal(&a, &b));
	u = (struct sockaddr_un *)&b.ss;
	CHECK(u->sun_path[0] == '/');
}

static void test_fallback(void)
{
	struct addr a = parsed("*:1234"), b;
	char buf[ADDR_STRLEN];

	addr_ipv4_fallback(&a, &b);
	CHECK(b.ss.ss_family == AF_INET);
	CHECK(b.len == sizeof(struct sockaddr_in));
	CHECK(!b.any_dualstack);
	CHECK(b.socktype == SOCK_STREAM);
	addr_format((struct sockaddr *)&b.ss, b.len, buf, sizeof(buf));
	CHECK_STR(buf, "0.0.0.0:1234");

	a = parsed("udp:*:9001");
	addr_ipv4_fallback(&a, &a);	/* in place */
	CHECK(a.socktype == SOCK_DGRAM);
	CHECK(!a.any_dualstack);
	addr_format((struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
	CHECK_STR(buf, "0.0.0.0:9001");
}

int main(void)
{
	RUN(test_ipv4);
	RUN(test_ipv6);
	RUN(test_any);
	RUN(test_unix);
	RUN(test_udp);
	RUN(test_errors);
	RUN(test_error_quoting);
	RUN(test_error_buffer);
	RUN(test_format);
	RUN(test_equal);
	RUN(test_fallback);
	return unit_done("test_addr");
}
