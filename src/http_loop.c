#include "http_loop.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"

#define LINE_MAX_ 4096
#define CONNECT_TIMEOUT_MS 1000

struct http_loop {
        struct loop *loop;
        CURLM *multi;
        struct loop_source *timer;
        struct http_request *requests;  /* in flight, for http_loop_free */
        int own_netns_fd;               /* to come back to after making a socket elsewhere; -1 until needed */
};

struct http_request {
        struct http_loop *h;
        struct http_request *prev, *next;
        CURL *easy;
        char *url;
        int netns_fd;
        http_line_fn line;
        http_done_fn done;
        void *userdata;
        bool had_enough;                /* `line` said so: the write error that stops curl is no error */
        char error[CURL_ERROR_SIZE];
        char netns_error[128];          /* curl's own words would be "could not connect" */
        size_t n_line;
        char buf[LINE_MAX_];
};

/* A socket curl is waiting on: its handle in the loop. */
struct watched_socket {
        struct loop_source *source;
        uint32_t events;
};

static void request_free(struct http_request *r) {
        struct http_loop *h = r->h;
        curl_multi_remove_handle(h->multi, r->easy);
        curl_easy_cleanup(r->easy);
        if (r->prev)
                r->prev->next = r->next;
        else
                h->requests = r->next;
        if (r->next)
                r->next->prev = r->prev;
        free(r->url);
        free(r);
}

static void finish_done(struct http_loop *h) {
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(h->multi, &left))) {
                if (msg->msg != CURLMSG_DONE)
                        continue;
                struct http_request *r;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &r);
                CURLcode rc = msg->data.result;
                long status = -EIO;
                char why[CURL_ERROR_SIZE + 300] = "";
                if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && r->had_enough))
                        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
                else {
                        status = rc == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -EIO;
                        snprintf(why, sizeof why, "%s: %s", r->url,
                                 *r->netns_error ? r->netns_error : *r->error ? r->error : curl_easy_strerror(rc));
                }
                /* A last line with no newline. */
                if (status == 200 && r->n_line && !r->had_enough && r->line)
                        r->line(r->buf, r->n_line, r->userdata);
                http_done_fn done = r->done;
                void *userdata = r->userdata;
                request_free(r);
                done(status, why, userdata);
        }
}

static void on_socket_ready(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct http_loop *h = userdata;
        int ev = (revents & (EPOLLIN | EPOLLHUP) ? CURL_CSELECT_IN : 0) | (revents & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                 (revents & EPOLLERR ? CURL_CSELECT_ERR : 0);
        int running;
        curl_multi_socket_action(h->multi, fd, ev, &running);
        finish_done(h);
}

static void on_timer(struct loop_source *s, usec_t now, void *userdata) {
        struct http_loop *h = userdata;
        int running;
        loop_source_free(TAKE_PTR(h->timer));
        curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        finish_done(h);
}

static int socket_fn(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
        struct http_loop *h = userp;
        struct watched_socket *w = socketp;
        uint32_t events = (what == CURL_POLL_IN || what == CURL_POLL_INOUT ? EPOLLIN : 0) |
                          (what == CURL_POLL_OUT || what == CURL_POLL_INOUT ? EPOLLOUT : 0);
        if (w && (what == CURL_POLL_REMOVE || w->events != events)) {
                loop_source_free(w->source);
                w->source = NULL;
        }
        if (what == CURL_POLL_REMOVE) {
                free(w);
                curl_multi_assign(h->multi, fd, NULL);
                return 0;
        }
        if (!w) {
                if (!(w = calloc(1, sizeof *w)))
                        return -1;
                curl_multi_assign(h->multi, fd, w);
        }
        if (!w->source) {
                w->events = events;
                if (loop_add_io(h->loop, fd, events, on_socket_ready, h, &w->source) < 0)
                        return -1;
        }
        return 0;
}

static int timer_fn(CURLM *multi, long timeout_ms, void *userp) {
        struct http_loop *h = userp;
        loop_source_free(TAKE_PTR(h->timer));
        if (timeout_ms < 0)
                return 0;
        usec_t at = now_usec(CLOCK_MONOTONIC) + (usec_t) timeout_ms * 1000;
        return loop_add_timer(h->loop, at, 0, on_timer, h, &h->timer) < 0 ? -1 : 0;
}

/* The socket of a request to another network namespace is made there;
 * the watchdog goes back to its own at once (setns moves only this
 * thread, and only sockets made meanwhile stay behind). */
static curl_socket_t open_socket_fn(void *clientp, curlsocktype purpose, struct curl_sockaddr *a) {
        struct http_request *r = clientp;
        struct http_loop *h = r->h;
        if (r->netns_fd < 0)
                return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
        if (h->own_netns_fd < 0 && (h->own_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
                snprintf(r->netns_error, sizeof r->netns_error, "cannot open our own network namespace: %m");
                return CURL_SOCKET_BAD;
        }
        if (setns(r->netns_fd, CLONE_NEWNET) < 0) {
                snprintf(r->netns_error, sizeof r->netns_error, "cannot enter its network namespace: %m");
                return CURL_SOCKET_BAD;
        }
        int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol), saved = errno;
        if (setns(h->own_netns_fd, CLONE_NEWNET) < 0) {
                /* Staying in the target's would send every later
                 * connection, hooks' included, there. */
                log_error("cannot come back to our own network namespace: %m");
                abort();
        }
        errno = saved;
        return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static size_t write_fn(char *p, size_t size, size_t n, void *userdata) {
        struct http_request *r = userdata;
        size_t len = size * n;
        if (!r->line)
                return len;
        for (size_t i = 0; i < len; i++) {
                if (p[i] != '\n') {
                        if (r->n_line < sizeof r->buf)
                                r->buf[r->n_line++] = p[i];
                        continue;
                }
                size_t line_len = r->n_line;
                r->n_line = 0;
                if (!r->line(r->buf, line_len, r->userdata)) {
                        r->had_enough = true;
                        return 0;
                }
        }
        return len;
}

int http_loop_new(struct loop *l, struct http_loop **ret) {
        static bool initialized;
        if (!initialized && curl_global_init(CURL_GLOBAL_NOTHING) != CURLE_OK)
                return -ENOMEM;
        initialized = true;
        struct http_loop *h = calloc(1, sizeof *h);
        if (!h || !(h->multi = curl_multi_init())) {
                free(h);
                return -ENOMEM;
        }
        h->loop = l;
        h->own_netns_fd = -1;
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, socket_fn);
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
        curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, timer_fn);
        curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
        *ret = h;
        return 0;
}

void http_loop_free(struct http_loop *h) {
        if (!h)
                return;
        while (h->requests)
                request_free(h->requests);
        curl_multi_cleanup(h->multi);
        loop_source_free(h->timer);
        if (h->own_netns_fd >= 0)
                close(h->own_netns_fd);
        free(h);
}

int http_loop_get(struct http_loop *h, const struct http_get *g, struct http_request **ret) {
        struct http_request *r = calloc(1, sizeof *r);
        if (!r)
                return -ENOMEM;
        *r = (struct http_request) { .h = h, .netns_fd = g->netns_fd, .line = g->line, .done = g->done,
                                     .userdata = g->userdata };
        if (!(r->easy = curl_easy_init()) || asprintf(&r->url, "http://%s%s", g->endpoint, g->path) < 0) {
                if (r->easy)
                        curl_easy_cleanup(r->easy);
                free(r);
                return -ENOMEM;
        }
        long timeout_ms = (long) (g->timeout / 1000);
        curl_easy_setopt(r->easy, CURLOPT_URL, r->url);
        curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
        curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(r->easy, CURLOPT_NOPROXY, "*");        /* a proxy in the environment is not the target */
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < CONNECT_TIMEOUT_MS ? timeout_ms
                                                                                              : CONNECT_TIMEOUT_MS);
        curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, write_fn);
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->error);
        curl_easy_setopt(r->easy, CURLOPT_OPENSOCKETFUNCTION, open_socket_fn);
        curl_easy_setopt(r->easy, CURLOPT_OPENSOCKETDATA, r);
        if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
                curl_easy_cleanup(r->easy);
                free(r->url);
                free(r);
                return -ENOMEM;
        }
        r->next = h->requests;
        if (h->requests)
                h->requests->prev = r;
        h->requests = r;
        if (ret)
                *ret = r;
        return 0;
}

void http_request_cancel(struct http_request *r) {
        if (r)
                request_free(r);
}
