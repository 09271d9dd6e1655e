/* HTTP GETs driven by the event loop (libcurl's multi interface on the
 * loop's epoll): a request never blocks the loop, whatever the endpoint
 * does, and costs at most its timeout. The answer is handed over a line
 * at a time and never kept whole, so a large one costs no memory.
 *
 * A request may be made inside another network namespace (a container's
 * 127.0.0.1 is its own): its socket is created there, with the watchdog
 * itself staying in its own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

struct loop;
struct http_loop;
struct http_request;

/* A line of the answer's body, without its newline; a line longer than
 * 4 KiB comes cut. Returns false when it has read what it wanted: the
 * rest is not fetched, and the request ends as if complete. */
typedef bool (*http_line_fn)(const char *line, size_t len, void *userdata);
/* Once, when the request ends (not when it is cancelled): the HTTP status,
 * or a negative errno with `why` in words. The request is already freed. */
typedef void (*http_done_fn)(long status, const char *why, void *userdata);

struct http_get {
        const char *endpoint;   /* HOST:PORT */
        const char *path;       /* "/debug/pprof/" */
        int netns_fd;           /* the network namespace to connect from; -1: ours */
        usec_t timeout;         /* the whole request, connecting included */
        http_line_fn line;      /* NULL: the body is ignored */
        http_done_fn done;
        void *userdata;
};

int http_loop_new(struct loop *l, struct http_loop **ret);
/* Cancels whatever is in flight, with no `done` calls. */
void http_loop_free(struct http_loop *h);
int http_loop_get(struct http_loop *h, const struct http_get *g, struct http_request **ret);
/* Ends a request in flight with no `done` call. */
void http_request_cancel(struct http_request *r);
