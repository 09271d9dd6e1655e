/* HTTP GETs in the loop against a real local server (a child process):
 * lines cut across reads, stopping early, a server that never answers,
 * and a cancel. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "http_loop.h"
#include "loop.h"

struct got {
        char lines[8][64];
        int n_lines;
        int stop_after;         /* lines; 0 = all */
        bool done;
        long status;
        char why[512];
};

static bool on_line(const char *line, size_t len, void *userdata) {
        struct got *g = userdata;
        if (g->n_lines < 8)
                snprintf(g->lines[g->n_lines++], sizeof g->lines[0], "%.*s", (int) len, line);
        return g->stop_after == 0 || g->n_lines < g->stop_after;
}

static void on_done(long status, const char *why, void *userdata) {
        struct got *g = userdata;
        g->done = true;
        g->status = status;
        snprintf(g->why, sizeof g->why, "%s", why);
}

/* A server on 127.0.0.1 answering each connection with `answer` in pieces
 * 50 ms apart (NULL: reading and never answering). */
static pid_t serve(const char *const *answer, char *endpoint, size_t size) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof a;
        assert_int_equal(bind(s, (struct sockaddr *) &a, sizeof a), 0);
        assert_int_equal(listen(s, 8), 0);
        assert_int_equal(getsockname(s, (struct sockaddr *) &a, &len), 0);
        snprintf(endpoint, size, "127.0.0.1:%u", ntohs(a.sin_port));
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* A failed assertion ends the test without killing it. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                for (;;) {
                        int c = accept(s, NULL, NULL);
                        char req[1024];
                        if (read(c, req, sizeof req) <= 0)
                                _exit(1);
                        for (const char *const *p = answer; p && *p; p++) {
                                if (write(c, *p, strlen(*p)) < 0)
                                        break;
                                usleep(50000);
                        }
                        if (answer)
                                close(c);
                }
        }
        close(s);
        return pid;
}

static void run_until_done(struct loop *l, struct got *g) {
        while (!g->done)
                assert_true(loop_run_once(l) >= 0);
}

static void lines_cut_across_reads(void **state) {
        const char *const answer[] = { "HTTP/1.1 200 OK\r\nContent-Length: 38\r\n\r\ngoroutine pro", "file: total 12\n",
                                       "\nlast line", NULL };
        char endpoint[32];
        pid_t server = serve(answer, endpoint, sizeof endpoint);
        struct loop *l;
        struct http_loop *h;
        assert_int_equal(loop_new(&l), 0);
        assert_int_equal(http_loop_new(l, &h), 0);
        struct got g = {};
        struct http_get get = { .endpoint = endpoint, .path = "/x", .netns_fd = -1, .timeout = 5 * USEC_PER_SEC,
                                .line = on_line, .done = on_done, .userdata = &g };
        assert_int_equal(http_loop_get(h, &get, NULL), 0);
        run_until_done(l, &g);
        assert_int_equal(g.status, 200);
        assert_int_equal(g.n_lines, 3);
        assert_string_equal(g.lines[0], "goroutine profile: total 12");
        assert_string_equal(g.lines[1], "");
        assert_string_equal(g.lines[2], "last line");
        /* Enough after the first line: the rest is not waited for, and
         * that is no error. */
        g = (struct got) { .stop_after = 1 };
        assert_int_equal(http_loop_get(h, &get, NULL), 0);
        run_until_done(l, &g);
        assert_int_equal(g.status, 200);
        assert_int_equal(g.n_lines, 1);
        http_loop_free(h);
        loop_free(l);
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
}

static void on_tick(struct loop_source *s, usec_t now, void *userdata) {
        (*(int *) userdata)++;
}

static void a_silent_server_times_out_without_stalling_the_loop(void **state) {
        char endpoint[32];
        pid_t server = serve(NULL, endpoint, sizeof endpoint);
        struct loop *l;
        struct http_loop *h;
        struct loop_source *tick;
        int ticks = 0;
        assert_int_equal(loop_new(&l), 0);
        assert_int_equal(http_loop_new(l, &h), 0);
        assert_int_equal(loop_add_timer(l, 0, 20 * USEC_PER_MSEC, on_tick, &ticks, &tick), 0);
        struct got g = {}, cancelled = {};
        struct http_get get = { .endpoint = endpoint, .path = "/x", .netns_fd = -1, .timeout = 400 * USEC_PER_MSEC,
                                .line = on_line, .done = on_done, .userdata = &g };
        struct http_request *r;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(http_loop_get(h, &get, NULL), 0);
        get.userdata = &cancelled;
        assert_int_equal(http_loop_get(h, &get, &r), 0);
        http_request_cancel(r);
        run_until_done(l, &g);
        usec_t took = now_usec(CLOCK_MONOTONIC) - start;
        assert_int_equal(g.status, -ETIMEDOUT);
        assert_non_null(strstr(g.why, "/x: "));
        assert_true(took >= 350 * USEC_PER_MSEC && took < 2 * USEC_PER_SEC);
        assert_true(ticks >= 10);      /* the loop kept going meanwhile */
        assert_false(cancelled.done);
        loop_source_free(tick);
        http_loop_free(h);
        loop_free(l);
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(lines_cut_across_reads),
                cmocka_unit_test(a_silent_server_times_out_without_stalling_the_loop),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
