/* The Go actions — go.goroutines, go.heap, go.profile — from the target's
 * own net/http/pprof endpoint, over HTTP with libcurl. The endpoint is the
 * rule's `go: {pprof: HOST:PORT}`, else found among the TCP sockets the
 * target listens on: the first that answers /debug/pprof/.
 *
 * Each request runs in a child of the collector that first enters the
 * target's network namespace when it has its own (a container's
 * 127.0.0.1 is its own), so the collector itself, and the hooks it runs
 * later, stay in ours. A Go program is never sent SIGQUIT (it would die
 * of it): only a rule's own `signal` action does that. */
#include <curl/curl.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../go_pprof.h"
#include "../listening.h"
#include "collect.h"

#define CONNECT_TIMEOUT_MS 1000
#define PROBE_TIMEOUT_S 2
#define ANSWER_TIMEOUT_S 60
#define LISTEN_MAX 32

/* Where an answer goes: its file, and its first bytes kept to say why
 * when the status is not 200 (the file is open for writing only). */
struct sink {
        int fd;
        char head[300];
        size_t n_head;
};

static size_t write_to_fd(char *p, size_t size, size_t n, void *userdata) {
        struct sink *s = userdata;
        size_t len = size * n, keep = len < sizeof s->head - 1 - s->n_head ? len : sizeof s->head - 1 - s->n_head;
        memcpy(s->head + s->n_head, p, keep);
        s->n_head += keep;
        for (size_t done = 0; done < len;) {
                ssize_t w = write(s->fd, p + done, len - done);
                if (w <= 0)
                        return 0;       /* curl then fails with a write error */
                done += (size_t) w;
        }
        return len;
}

/* GET http://ENDPOINT PATH into the sink: the HTTP status, or -EIO with why. */
static long get(const char *endpoint, const char *path, struct sink *sink, long timeout_s, char *err, size_t size) {
        _cleanup_free_ char *url = NULL;
        CURL *h = curl_easy_init();
        if (!h || asprintf(&url, "http://%s%s", endpoint, path) < 0) {
                if (h)
                        curl_easy_cleanup(h);
                snprintf(err, size, "out of memory");
                return -ENOMEM;
        }
        char curl_err[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
        curl_easy_setopt(h, CURLOPT_NOPROXY, "*");              /* a proxy in the environment is not the target */
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long) CONNECT_TIMEOUT_MS);
        curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout_s);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_to_fd);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
        long status = -EIO;
        CURLcode rc = curl_easy_perform(h);
        if (rc == CURLE_OK)
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        else
                snprintf(err, size, "%s: %s", url, *curl_err ? curl_err : curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        return status;
}

/* Into the target's network namespace, if it is not ours. */
static int enter_netns(const struct collect_ctx *ctx, char *err, size_t size) {
        char path[32];
        snprintf(path, sizeof path, "%d/ns/net", (int) ctx->pid);
        _cleanup_close_ int fd = openat(ctx->proc->fd, path, O_RDONLY | O_CLOEXEC);
        struct stat theirs, ours;
        if (fd < 0 || fstat(fd, &theirs) < 0 || stat("/proc/self/ns/net", &ours) < 0) {
                snprintf(err, size, "cannot open its network namespace: %m");
                return -errno;
        }
        if (theirs.st_ino != ours.st_ino && setns(fd, CLONE_NEWNET) < 0) {
                snprintf(err, size, "cannot enter its network namespace: %m");
                return -errno;
        }
        return 0;
}

/* The first listening socket that serves /debug/pprof/. */
static int find_endpoint(const struct collect_ctx *ctx, char *ret, size_t ret_size, char *err, size_t size) {
        struct listen_addr addrs[LISTEN_MAX];
        size_t n = 0;
        int r = listening_of_process(ctx->proc, ctx->pid, addrs, LISTEN_MAX, &n);
        if (r < 0) {
                snprintf(err, size, "cannot list its sockets: %s", strerror(-r));
                return r;
        }
        _cleanup_close_ int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
        for (size_t i = 0; i < n; i++) {
                char endpoint[sizeof addrs[i].host + 8], ignored[256];
                struct sink probe = { .fd = devnull };
                snprintf(endpoint, sizeof endpoint, "%.47s:%u", addrs[i].host, addrs[i].port);
                if (get(endpoint, "/debug/pprof/", &probe, PROBE_TIMEOUT_S, ignored, sizeof ignored) == 200) {
                        snprintf(ret, ret_size, "%s", endpoint);
                        return 0;
                }
        }
        go_pprof_no_endpoint(n, err, size);
        return -ENOENT;
}

/* The child: endpoint, request, answer into out_fd; why it failed into err. */
static int fetch(const struct collect_ctx *ctx, const char *path, long timeout_s, int out_fd, char *err,
                 size_t size) {
        int r = enter_netns(ctx, err, size);
        char endpoint[128];
        if (r < 0 || (!ctx->go_pprof && (r = find_endpoint(ctx, endpoint, sizeof endpoint, err, size)) < 0))
                return r;
        struct sink sink = { .fd = out_fd };
        long status = get(ctx->go_pprof ? ctx->go_pprof : endpoint, path, &sink, timeout_s, err, size);
        if (status < 0)
                return (int) status;
        if (status != 200) {
                /* pprof says why in its body: "cpu profiling already in use",
                 * "profile duration exceeds server's WriteTimeout". */
                sink.head[strcspn(sink.head, "\n")] = 0;
                snprintf(err, size, "HTTP %ld from %s%s: %s", status, ctx->go_pprof ? ctx->go_pprof : endpoint, path,
                         *sink.head ? sink.head : "no reason given");
                return -EIO;
        }
        return 0;
}

static int fetch_to_file(struct collect_ctx *ctx, const char *name, const char *path, long timeout_s,
                         struct action_result *res) {
        int r = collect_check_identity(ctx);
        if (r < 0) {
                result_set(res, ACTION_FAILED, "process exited before the capture");
                return r;
        }
        _cleanup_close_ int fd = -1;
        if ((r = artifact_open_file(ctx->artifact, name, &fd)) < 0) {
                result_set(res, ACTION_FAILED, "cannot create %s: %s", name, strerror(-r));
                return r;
        }
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0) {
                result_set(res, ACTION_FAILED, "pipe: %m");
                return -errno;
        }
        pid_t child = fork();
        if (child == 0) {
                close(p[0]);
                char err[512] = "";
                int e = fetch(ctx, path, timeout_s, fd, err, sizeof err);
                if (e < 0 && write(p[1], err, strlen(err)) < 0)
                        _exit(2);
                _exit(e < 0);
        }
        close(p[1]);
        char err[512] = "";
        int status = 0;
        if (child < 0) {
                snprintf(err, sizeof err, "cannot fork: %m");
                status = 1;
        } else {
                ssize_t n = read(p[0], err, sizeof err - 1);
                err[n > 0 ? n : 0] = 0;
                waitpid(child, &status, 0);
        }
        close(p[0]);
        if (child < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                unlinkat(ctx->artifact->dir_fd, name, 0);
                result_set(res, ACTION_FAILED, "%s", *err ? err : "the request's helper died");
                return -EIO;
        }
        result_add_file(res, ctx->artifact->dir_fd, name);
        result_set(res, ACTION_OK, NULL);
        return 0;
}

int collect_go_goroutines(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        return fetch_to_file(ctx, "goroutines.txt", "/debug/pprof/goroutine?debug=2", ANSWER_TIMEOUT_S, res);
}

int collect_go_heap(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        return fetch_to_file(ctx, "heap.pb.gz", "/debug/pprof/heap", ANSWER_TIMEOUT_S, res);
}

int collect_go_profile(struct collect_ctx *ctx, const struct action *a, struct action_result *res) {
        long seconds = a->duration ? (long) (a->duration / USEC_PER_SEC) : 10;
        char path[64];
        snprintf(path, sizeof path, "/debug/pprof/profile?seconds=%ld", seconds);
        return fetch_to_file(ctx, "cpu.pb.gz", path, seconds + ANSWER_TIMEOUT_S, res);
}
