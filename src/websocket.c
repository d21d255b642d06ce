/*
 * websocket.c - the websocket protocol: a framing adapter around chat.
 *
 * Before the upgrade a connection is an HTTP request (http.c): a static
 * file from www, an error status, or the RFC 6455 handshake.  After it,
 * text messages are decoded (ws-frame.c) into the same byte stream a TCP
 * chat client would send, lines ended by LF, and handed to chat's own
 * input, so names, commands, max_line and flood control are chat's.
 * Lines going out are framed once per line (msg_twin) by conn_send().
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chat.h"
#include "conn.h"
#include "http.h"
#include "log.h"
#include "websocket.h"
#include "ws-frame.h"

#define HEAD_TIMEOUT_MS 10000	/* to finish the request head (SPEC 16) */
#define FILE_MAX (4u << 20)	/* static files are read whole */

struct ws_conn {
	struct http_req *req;	/* until the upgrade */
	struct sel_timer *timer;	/* head timeout, then pings */
	struct ws_decoder dec;
	bool upgraded;
	bool heard;		/* any frame since the last ping */
	bool ping_out;		/* a ping is unanswered */
};

static struct ws_conn *ws_of(const struct conn *c)
{
	return c->proto_data;
}

/* ---- sending ------------------------------------------------------- */

static void send_frame(struct conn *c, enum ws_opcode op, const void *p, size_t n)
{
	uint8_t buf[10 + 125];
	size_t h = ws_frame_header(buf, op, n);

	memcpy(buf + h, p, n);
	conn_write(c, (const char *)buf, h + n);
}

/* Sends a close frame with code and ends the connection once it is out. */
static void ws_close(struct conn *c, unsigned code, enum close_kind kind,
    const char *reason)
{
	uint8_t p[2] = { (uint8_t)(code >> 8), (uint8_t)code };

	if (c->flags & (CONN_CLOSED | CONN_CLOSING))
		return;
	chat_leave(c);
	send_frame(c, WS_CLOSE, p, code == WS_CLOSE_NO_STATUS ? 0 : 2);
	conn_close_after_flush(c, kind, reason);
}

static void http_reply(struct conn *c, int status, const char *extra)
{
	char head[512], body[128];
	int blen = snprintf(body, sizeof(body), "%d %s\n", status, http_reason(status));
	size_t n = http_response_head(head, sizeof(head), status, extra, blen);
	bool is_head = ws_of(c)->req != NULL && ws_of(c)->req->state == HTTP_DONE &&
	    strcmp(ws_of(c)->req->method, "HEAD") == 0;

	conn_write(c, head, n);
	if (!is_head)
		conn_write(c, body, (size_t)blen);
	conn_close_after_flush(c, CLOSE_CLIENT, "http response");
}

static struct msg *frame_line(struct msg *m)
{
	return msg_twin(m, ws_frame_line);
}

/* ---- frames from the client ---------------------------------------- */

static void on_text(void *arg, const char *data, size_t n)
{
	struct conn *c = arg;

	/* LF inside a message splits it into lines, as on TCP; a CR LF
	 * pair inside is one line end for chat's framer too. */
	chat_ops.input(c, data, n);
}

static void on_text_end(void *arg)
{
	chat_ops.input(arg, "\n", 1);
}

static void on_ping(void *arg, const uint8_t *p, size_t n)
{
	send_frame(arg, WS_PONG, p, n);
}

static void on_pong(void *arg)
{
	ws_of(arg)->ping_out = false;
}

/* The close handshake: the reply echoes the client's code. */
static void on_close(void *arg, unsigned code)
{
	ws_close(arg, code, CLOSE_CLIENT, "client closed");
}

static const struct ws_handler handler = {
	.text = on_text, .text_end = on_text_end, .ping = on_ping,
	.pong = on_pong, .close = on_close,
};

static void frames_in(struct conn *c, const char *data, size_t len)
{
	struct ws_conn *w = ws_of(c);
	unsigned err;

	w->heard = true;
	err = ws_decode(&w->dec, (const uint8_t *)data, len, &handler, c);
	if (err != 0)
		ws_close(c, err, CLOSE_ERROR, err == WS_CLOSE_INVALID_DATA ?
		    "invalid UTF-8" : err == WS_CLOSE_UNSUPPORTED ?
		    "binary frame" : "protocol error");
}

/* ---- timers -------------------------------------------------------- */

static void arm_ping(struct conn *c)
{
	double iv = c->ep->conf->ping_interval;

	if (iv > 0)
		selector_timer_arm(ws_of(c)->timer, (int64_t)(iv * 1000.0));
}

static void on_timer(struct selector *sel, void *arg)
{
	struct conn *c = arg;
	struct ws_conn *w = ws_of(c);

	(void)sel;
	if (c->flags & (CONN_CLOSED | CONN_CLOSING))
		return;
	if (!w->upgraded) {
		conn_close(c, CLOSE_IDLE, "request head timeout");
		return;
	}
	/* No pong and nothing else in a whole interval: gone. */
	if (w->ping_out && !w->heard) {
		ws_close(c, WS_CLOSE_GOING_AWAY, CLOSE_IDLE, "ping timeout");
		return;
	}
	w->heard = false;
	w->ping_out = true;
	send_frame(c, WS_PING, "chatd", 5);
	arm_ping(c);
}

/* ---- the handshake ------------------------------------------------- */

static bool origin_allowed(const struct conn *c, const char *origin)
{
	char *const *o = c->ep->conf->origins;

	if (o == NULL)
		return true;
	for (; origin != NULL && *o != NULL; o++)
		if (strcmp(*o, origin) == 0)
			return true;
	return false;
}

/* GET on the WebSocket path: the status to refuse it with, or 101. */
static int check_upgrade(struct conn *c, const struct http_req *r, char *accept)
{
	const char *key = http_header(r, "Sec-WebSocket-Key");
	const char *version = http_header(r, "Sec-WebSocket-Version");

	if (strcmp(r->method, "GET") != 0)
		return 405;
	if (!http_header_has_token(r, "Upgrade", "websocket"))
		return 426;
	if (r->version_minor < 1 || http_header(r, "Host") == NULL ||
	    !http_header_has_token(r, "Connection", "upgrade") ||
	    key == NULL || !ws_accept_key(key, accept))
		return 400;
	if (version == NULL || strcmp(version, "13") != 0)
		return 426;
	if (!origin_allowed(c, http_header(r, "Origin")))
		return 403;
	return 101;
}

static void upgrade(struct conn *c, const char *accept)
{
	struct ws_conn *w = ws_of(c);
	char extra[160], head[256];
	size_t n;

	snprintf(extra, sizeof(extra), "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n", accept);
	n = http_response_head(head, sizeof(head), 101, extra, -1);
	conn_write(c, head, n);
	free(w->req);
	w->req = NULL;
	w->upgraded = true;
	selector_timer_disarm(w->timer);
	arm_ping(c);
	c->flags |= CONN_WSFRAME;
	chat_join(c);
}

/* ---- static files -------------------------------------------------- */

/* Opens www + path if it resolves inside www (no symlink out), as a
 * regular file; -1 with the status to answer in *status. */
static int open_static(const char *www, const char *path, int *status)
{
	char root[PATH_MAX], want[PATH_MAX], real[PATH_MAX];
	size_t rl;
	struct stat st;
	int fd, n;

	*status = 404;
	if (realpath(www, root) == NULL)
		return -1;
	n = snprintf(want, sizeof(want), "%s%s%s", root, path,
	    path[strlen(path) - 1] == '/' ? "index.html" : "");
	if (n < 0 || (size_t)n >= sizeof(want) || realpath(want, real) == NULL)
		return -1;
	rl = strlen(root);
	if (strncmp(real, root, rl) != 0 || (real[rl] != '/' && real[rl] != '\0'))
		return -1;	/* a symlink that leads out of www */
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size > FILE_MAX) {
		close(fd);
		return -1;
	}
	*status = 200;
	return fd;
}

static void serve_file(struct conn *c, const struct http_req *r)
{
	const char *www = c->ep->conf->www;
	char extra[128], head[256], *body;
	struct stat st;
	int status, fd;
	ssize_t got;

	if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
		http_reply(c, 405, "Allow: GET, HEAD\r\n");
		return;
	}
	fd = (www == NULL || *www == '\0') ? -1 : open_static(www, r->path, &status);
	if (fd == -1 || fstat(fd, &st) == -1) {
		if (fd != -1)
			close(fd);
		http_reply(c, 404, NULL);
		return;
	}
	body = malloc((size_t)st.st_size + 1);
	got = body ? read(fd, body, (size_t)st.st_size) : -1;
	close(fd);
	if (got != st.st_size) {
		free(body);
		http_reply(c, 500, NULL);
		return;
	}
	snprintf(extra, sizeof(extra), "Content-Type: %s\r\n",
	    http_content_type(r->path[strlen(r->path) - 1] == '/' ? "index.html" : r->path));
	conn_write(c, head, http_response_head(head, sizeof(head), 200, extra, got));
	if (strcmp(r->method, "GET") == 0)
		conn_write(c, body, (size_t)got);
	free(body);
	conn_close_after_flush(c, CLOSE_CLIENT, "http response");
}

static void request_done(struct conn *c, const char *rest, size_t restlen)
{
	const struct http_req *r = ws_of(c)->req;
	char accept[29];
	int status;

	if (strcmp(r->path, c->ep->conf->path ? c->ep->conf->path : "/chat") != 0) {
		serve_file(c, r);
		return;
	}
	status = check_upgrade(c, r, accept);
	if (status == 101) {
		upgrade(c, accept);
		if (restlen > 0)
			frames_in(c, rest, restlen);
	} else if (status == 426)
		http_reply(c, 426, "Sec-WebSocket-Version: 13\r\nUpgrade: websocket\r\n");
	else if (status == 405)
		http_reply(c, 405, "Allow: GET\r\n");
	else
		http_reply(c, status, NULL);
}

/* ---- the protocol table -------------------------------------------- */

/* The listener's room is chat's. */
static int ws_attach(struct endpoint *ep, const struct listener_conf *conf)
{
	return chat_ops.attach(ep, conf);
}

static void ws_detach(struct endpoint *ep)
{
	chat_ops.detach(ep);
}

static int ws_update(struct endpoint *ep, const struct listener_conf *conf)
{
	return chat_ops.update(ep, conf);
}

static void ws_open(struct conn *c)
{
	struct ws_conn *w = calloc(1, sizeof(*w));

	if (w == NULL || (w->req = malloc(sizeof(*w->req))) == NULL ||
	    (w->timer = selector_timer_new(c->ep->pool->sel, on_timer, c)) == NULL) {
		if (w != NULL)
			free(w->req);
		free(w);
		conn_close(c, CLOSE_ERROR, "out of memory");
		return;
	}
	http_req_init(w->req);
	ws_decoder_init(&w->dec);
	c->proto_data = w;
	selector_timer_arm(w->timer, HEAD_TIMEOUT_MS);
}

static void ws_input(struct conn *c, const char *data, size_t len)
{
	struct ws_conn *w = ws_of(c);
	size_t used;

	if (w == NULL || (c->flags & (CONN_CLOSED | CONN_CLOSING)))
		return;
	if (w->upgraded) {
		frames_in(c, data, len);
		return;
	}
	switch (http_feed(w->req, data, len, &used)) {
	case HTTP_NEED_MORE:
		return;
	case HTTP_ERROR:
		http_reply(c, w->req->error, NULL);
		return;
	case HTTP_DONE:
		request_done(c, data + used, len - used);
		return;
	}
}

static void ws_resume(struct conn *c)
{
	if (ws_of(c) != NULL && ws_of(c)->upgraded)
		chat_ops.resume(c);
}

static void ws_eof(struct conn *c)
{
	chat_leave(c);
	conn_close_after_flush(c, CLOSE_CLIENT, "client closed");
}

static void ws_closing(struct conn *c)
{
	struct ws_conn *w = ws_of(c);

	chat_leave(c);
	buffer_free(&c->in);
	if (w == NULL)
		return;
	selector_timer_free(w->timer);
	free(w->req);
	free(w);
	c->proto_data = NULL;
}

static void ws_farewell(struct conn *c, const char *text)
{
	struct ws_conn *w = ws_of(c);
	struct msg *m;

	if (w == NULL || !w->upgraded)
		return;
	m = msg_notice("%s", text);
	if (m != NULL) {
		conn_send(c, m);
		msg_unref(m);
	}
	send_frame(c, WS_CLOSE, (const uint8_t[]){ WS_CLOSE_GOING_AWAY >> 8,
	    WS_CLOSE_GOING_AWAY & 0xff }, 2);
}

const struct proto_ops websocket_ops = {
	.name = "websocket",
	.full_notice = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n",
	.attach = ws_attach,
	.detach = ws_detach,
	.update = ws_update,
	.datagram = NULL,
	.open = ws_open,
	.input = ws_input,
	.resume = ws_resume,
	.eof = ws_eof,
	.closing = ws_closing,
	.farewell = ws_farewell,
	.frame = frame_line,
};
