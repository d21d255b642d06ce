/*
 * metrics.c - the metrics listener: one HTTP/1.1 request per connection
 * (Connection: close), parsed by http.c, answered from the figures of
 * metrics-figures.c.
 *
 * A request head must be complete within HEAD_TIMEOUT_MS (or the
 * listener's idle_timeout when shorter): a client that sends half a head
 * and stalls is closed.  The answer is written with conn_write, so a
 * client that never reads holds one response at most and is then closed
 * within the bound every closing connection has.
 */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "conn.h"
#include "http.h"
#include "metrics-figures.h"
#include "metrics.h"

#define HEAD_TIMEOUT_MS 10000

struct metrics_conn {
	struct conn *c;
	struct sel_timer *timer;	/* the head's deadline */
	bool answered;
	struct http_req req;
};

static void head_expired(struct selector *sel, void *arg)
{
	struct metrics_conn *m = arg;

	(void)sel;
	conn_close(m->c, CLOSE_IDLE, "request head timeout");
}

static void metrics_open(struct conn *c)
{
	struct metrics_conn *m = malloc(sizeof(*m));
	double idle = c->ep->conf->idle_timeout;
	int64_t ms = HEAD_TIMEOUT_MS;

	if (m == NULL || (m->timer = selector_timer_new(c->ep->pool->sel, head_expired, m)) == NULL) {
		free(m);
		conn_close(c, CLOSE_ERROR, "out of memory");
		return;
	}
	m->c = c;
	m->answered = false;
	http_req_init(&m->req);
	c->proto_data = m;
	if (idle > 0 && idle * 1000.0 < (double)ms)
		ms = (int64_t)(idle * 1000.0);
	selector_timer_arm(m->timer, ms);
}

/* Writes the whole answer and closes once it is flushed. */
static void respond(struct conn *c, int status, const char *type, const char *body,
    size_t len, bool head_only, const char *extra_hdr)
{
	struct metrics_conn *m = c->proto_data;
	char head[512], extra[256];
	size_t n;

	m->answered = true;
	selector_timer_disarm(m->timer);
	snprintf(extra, sizeof(extra), "Content-Type: %s\r\n%s", type,
	    extra_hdr != NULL ? extra_hdr : "");
	n = http_response_head(head, sizeof(head), status, extra, (long long)len);
	conn_write(c, head, n);
	if (!head_only && len > 0 && !(c->flags & CONN_CLOSED))
		conn_write(c, body, len);
	if (!(c->flags & CONN_CLOSED))
		conn_close_after_flush(c, CLOSE_CLIENT, "response sent");
}

static void respond_text(struct conn *c, int status, bool head_only, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n",
	    status == 200 ? "ok" : http_reason(status));

	respond(c, status, "text/plain; charset=utf-8", body, (size_t)n, head_only, extra);
}

static void serve_metrics(struct conn *c, bool head_only)
{
	struct buffer out = BUFFER_INIT;
	struct figures f = { 0 };	/* figures_collect clears it; cppcheck cannot see that */

	if (figures_collect(&f, c->ep->pool) == -1) {
		respond_text(c, 500, head_only, NULL);
		return;
	}
	if (figures_prometheus(&f, &out) == -1) {
		figures_free(&f);
		buffer_free(&out);
		respond_text(c, 500, head_only, NULL);
		return;
	}
	figures_free(&f);
	respond(c, 200, "text/plain; version=0.0.4; charset=utf-8", buffer_data(&out),
	    buffer_len(&out), head_only, NULL);
	buffer_free(&out);
}

static void dispatch(struct conn *c, const struct http_req *req)
{
	bool head_only = strcmp(req->method, "HEAD") == 0;

	if (strcmp(req->method, "GET") != 0 && !head_only)
		respond_text(c, 405, false, "Allow: GET, HEAD\r\n");
	else if (strcmp(req->path, "/metrics") == 0)
		serve_metrics(c, head_only);
	else if (strcmp(req->path, "/healthz") == 0)
		respond_text(c, daemon_counters.stopping ? 503 : 200, head_only, NULL);
	else
		respond_text(c, 404, head_only, NULL);
}

static void metrics_input(struct conn *c, const char *data, size_t len)
{
	struct metrics_conn *m = c->proto_data;
	size_t used;

	/* What comes after the head (a body, a pipelined request) is
	 * ignored: one request per connection. */
	if (m->answered)
		return;
	switch (http_feed(&m->req, data, len, &used)) {
	case HTTP_NEED_MORE:
		return;
	case HTTP_ERROR:
		respond_text(c, m->req.error, false, NULL);
		return;
	case HTTP_DONE:
		c->ep->stats.messages++;
		dispatch(c, &m->req);
		return;
	}
}

static void metrics_eof(struct conn *c)
{
	conn_close_after_flush(c, CLOSE_CLIENT, "client closed");
}

static void metrics_closing(struct conn *c)
{
	struct metrics_conn *m = c->proto_data;

	if (m == NULL)
		return;
	selector_timer_free(m->timer);
	free(m);
	c->proto_data = NULL;
}

const struct proto_ops metrics_ops = {
	.name = "metrics",
	.full_notice = NULL,
	.serves_shutdown = true,
	.attach = NULL,
	.detach = NULL,
	.update = NULL,
	.datagram = NULL,
	.open = metrics_open,
	.input = metrics_input,
	.resume = NULL,
	.eof = metrics_eof,
	.closing = metrics_closing,
	.farewell = NULL,
};
