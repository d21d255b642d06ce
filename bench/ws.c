/*
 * ws.c - chatd-bench as a WebSocket client (--ws PATH): the RFC 6455
 * upgrade of connections connect_all opened, masked text frames out,
 * the server's frames in.  The key is the RFC's sample nonce: the server
 * under test need not see a fresh one, and the accept value is then the
 * RFC's too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "net.h"
#include "ws.h"

#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define HEAD_MAX 2048

static const unsigned char mask_key[4] = { 0x37, 0xfa, 0x21, 0x3d };

size_t ws_frame(char *out, unsigned op, const char *p, size_t len)
{
	unsigned char *o = (unsigned char *)out;
	size_t h = 0;
	o[h++] = (unsigned char)(0x80 | (op & 0x0f));
	if (len < 126) {
		o[h++] = (unsigned char)(0x80 | len);
	} else if (len < 65536) {
		o[h++] = 0x80 | 126;
		o[h++] = (unsigned char)(len >> 8);
		o[h++] = (unsigned char)len;
	} else {
		o[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			o[h++] = (unsigned char)((uint64_t)len >> (8 * i));
	}
	memcpy(o + h, mask_key, 4);
	h += 4;
	for (size_t i = 0; i < len; i++)
		o[h + i] = (unsigned char)p[i] ^ mask_key[i & 3];
	return h + len;
}

size_t ws_parse(char *p, size_t n, unsigned *op, char **payload, size_t *plen)
{
	const unsigned char *u = (const unsigned char *)p;
	if (n < 2)
		return 0;
	size_t h = 2;
	uint64_t len = u[1] & 0x7f;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (uint64_t)u[2] << 8 | u[3];
		h = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 0; i < 8; i++)
			len = len << 8 | u[2 + i];
		h = 10;
	}
	bool masked = u[1] & 0x80;
	if (masked)
		h += 4;
	if (n < h || n - h < len)
		return 0;
	if (masked) {
		unsigned char *m = (unsigned char *)p + h - 4;
		for (uint64_t i = 0; i < len; i++)
			p[h + i] = (char)((unsigned char)p[h + i] ^ m[i & 3]);
	}
	*op = u[0] & 0x0f;
	*payload = p + h;
	*plen = (size_t)len;
	return h + (size_t)len;
}

/* Reads the response head of fd if it is all there; 1 upgraded, -1
 * refused or broken, 0 not complete yet. */
static int head_done(int fd)
{
	char buf[HEAD_MAX + 1];
	ssize_t n = recv(fd, buf, HEAD_MAX, MSG_PEEK);
	if (n == 0 || (n < 0 && errno != EAGAIN)) {
		snprintf(connect_err, sizeof connect_err, "upgrade: %s",
		    n == 0 ? "closed by the server" : strerror(errno));
		return -1;
	}
	if (n < 0)
		return 0;
	buf[n] = '\0';
	char *end = strstr(buf, "\r\n\r\n");
	if (!end) {
		if (n == HEAD_MAX) {
			snprintf(connect_err, sizeof connect_err, "upgrade: response head over %d bytes",
			    HEAD_MAX);
			return -1;
		}
		return 0;
	}
	size_t hl = (size_t)(end + 4 - buf);
	if (recv(fd, buf, hl, 0) != (ssize_t)hl) {
		snprintf(connect_err, sizeof connect_err, "upgrade: short read of the head");
		return -1;
	}
	buf[hl] = '\0';
	if (strncmp(buf, "HTTP/1.1 101", 12) != 0 || !strcasestr(buf, WS_ACCEPT)) {
		char *eol = strchr(buf, '\r');
		if (eol)
			*eol = '\0';
		snprintf(connect_err, sizeof connect_err, "upgrade refused: %.80s", buf);
		return -1;
	}
	return 1;
}

unsigned ws_upgrade_all(int *fds, unsigned n, unsigned inflight, double timeout)
{
	char req[512];
	int rl = snprintf(req, sizeof req,
	    "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 13\r\n\r\n",
	    O.ws_path, O.host, O.port);
	if (rl < 0 || (size_t)rl >= sizeof req)
		die("--ws: path too long");
	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	unsigned next = 0, pend = 0, ok = 0;
	uint64_t deadline = now_ns() + (uint64_t)(timeout * 1e9);
	struct epoll_event evs[256];
	char *pending = xcalloc(n, 1);

	while ((next < n || pend) && now_ns() < deadline) {
		while (next < n && pend < inflight) {
			unsigned i = next++;
			if (fds[i] < 0)
				continue;
			if (write(fds[i], req, (size_t)rl) != rl) {
				snprintf(connect_err, sizeof connect_err, "upgrade: write: %s",
				    strerror(errno));
				close(fds[i]);
				fds[i] = -1;
				continue;
			}
			ep_set(ep, EPOLL_CTL_ADD, fds[i], EPOLLIN | EPOLLRDHUP, i);
			pending[i] = 1;
			pend++;
		}
		int k = epoll_wait(ep, evs, 256, 50);
		for (int j = 0; j < k; j++) {
			unsigned i = evs[j].data.u32;
			int r = head_done(fds[i]);
			if (r == 0)
				continue;
			epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
			pending[i] = 0;
			pend--;
			if (r > 0) {
				ok++;
			} else {
				close(fds[i]);
				fds[i] = -1;
			}
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (pending[i]) {
			snprintf(connect_err, sizeof connect_err, "upgrade: no response in time");
			close(fds[i]);
			fds[i] = -1;
		}
	free(pending);
	close(ep);
	return ok;
}
