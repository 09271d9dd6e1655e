/* The Go source: go.goroutines and go.heap_inuse from a Go program's own
 * net/http/pprof endpoint, read from outside with no code change in it.
 *
 * The endpoint is a rule's `go: {pprof: HOST:PORT}`, else found: a Go
 * program's (its executable has a .go.buildinfo section, so other
 * services never get an HTTP request they did not ask for) listening TCP
 * sockets, probed in turn for /debug/pprof/. Requests go through the
 * event loop (http_loop.h) and never block it: a read hands out the
 * values the last requests fetched and starts the next ones, so a value
 * is one interval old, and a target has one request in flight at most,
 * bounded by its rules' interval — a slow or dead endpoint costs one
 * timeout an interval at most, and after a failure it is asked again
 * after 1, 2, 4… 60 s (runtime_note.h). */
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../bindings.h"
#include "../go_pprof.h"
#include "../http_loop.h"
#include "../listening.h"
#include "../log.h"
#include "../rules.h"
#include "../source.h"
#include "runtime_note.h"

#define LISTEN_MAX 32
#define PROBE_TIMEOUT (1 * USEC_PER_SEC)
#define TIMEOUT_MIN (250 * USEC_PER_MSEC)
#define TIMEOUT_MAX (5 * USEC_PER_SEC)
#define READ_THROUGH_LINES 100000
#define GO_METRICS (METRIC_BIT(METRIC_GO_GOROUTINES) | METRIC_BIT(METRIC_GO_HEAP_INUSE))

struct go_source_state {
        const struct proc_root *root;
        struct loop *loop;
        struct http_loop *http;         /* made for the first Go target */
        struct runtime_note *notes;     /* every target's: their requests end with the source */
};

struct go_note {
        struct runtime_note rn;
        struct go_source_state *st;     /* NULL once the source closed */
        bool found;                     /* the endpoint is known; else it is looked for (again) */
        int netns_fd;                   /* its network namespace, when not ours; -1 */
        bool netns_known;
        bool given;                     /* the endpoint is a rule's */
        char endpoint[64];
        struct listen_addr candidates[LISTEN_MAX];
        size_t n_candidates, next_candidate;
        struct http_request *in_flight;
        enum metric fetching;
        unsigned lines_read;            /* of the answer being read */
        metric_set queued;              /* to fetch after the request in flight */
        usec_t timeout;
        double value[_METRIC_MAX];
        metric_set fresh;               /* fetched and not handed out yet */
};

static void note_free(struct source_note *n) {
        struct go_note *g = (struct go_note *) n;
        http_request_cancel(g->in_flight);
        runtime_note_unlist(&g->rn);
        if (g->netns_fd >= 0)
                close(g->netns_fd);
        free(g);
}

static int go_open(const struct source_env *env, void **ret_state) {
        struct go_source_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->root = env->proc;
        st->loop = env->loop;
        *ret_state = st;
        return 0;
}

static void go_close(void *state) {
        struct go_source_state *st = state;
        /* Targets may outlive the source: their notes forget it. */
        for (struct runtime_note *n = st->notes; n; n = n->next) {
                struct go_note *g = (struct go_note *) n;
                g->st = NULL;
                g->in_flight = NULL;
                n->list = NULL;
        }
        http_loop_free(st->http);
        free(st);
}

static struct go_note *note_of(struct go_source_state *st, struct target *tg) {
        bool made = !tg->notes[METRIC_SOURCE_GO];
        struct go_note *g = (struct go_note *) runtime_note_of(tg, METRIC_SOURCE_GO, sizeof *g, note_free, &st->notes,
                                                               "go.*");
        if (g && made) {
                g->st = st;
                g->netns_fd = -1;
        }
        return g;
}

/* Every Go executable since Go 1.13 carries its build information in a
 * section of its own, kept by strip (it is loaded). */
static bool is_go_program(const struct proc_root *root, pid_t pid) {
        char path[32];
        snprintf(path, sizeof path, "%d/exe", (int) pid);
        _cleanup_close_ int fd = openat(root->fd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || elf_version(EV_CURRENT) == EV_NONE)
                return false;
        /* Read, not mapped: the file may change under us. */
        Elf *e = elf_begin(fd, ELF_C_READ, NULL);
        size_t strndx;
        bool found = false;
        if (e && elf_getshdrstrndx(e, &strndx) == 0)
                for (Elf_Scn *scn = NULL; !found && (scn = elf_nextscn(e, scn));) {
                        GElf_Shdr sh;
                        const char *name = gelf_getshdr(scn, &sh) ? elf_strptr(e, strndx, sh.sh_name) : NULL;
                        found = name && strcmp(name, ".go.buildinfo") == 0;
                }
        elf_end(e);
        return found;
}

/* Its network namespace, kept open when it is not ours. */
static int open_netns(const struct proc_root *root, pid_t pid, int *ret_fd) {
        char path[32];
        snprintf(path, sizeof path, "%d/ns/net", (int) pid);
        int fd = openat(root->fd, path, O_RDONLY | O_CLOEXEC);
        struct stat theirs, ours;
        if (fd < 0)
                return -errno;
        if (fstat(fd, &theirs) < 0 || stat("/proc/self/ns/net", &ours) < 0) {
                close(fd);
                return -errno;
        }
        if (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev) {
                close(fd);
                fd = -1;
        }
        *ret_fd = fd;
        return 0;
}

/* No values for now, and why (said once); `found`: whether to fetch from
 * the same endpoint then, rather than look for one. */
static void give_up_for_now(struct go_note *g, bool found, const char *why) {
        g->found = found;
        g->queued = 0;
        runtime_note_failed(&g->rn, why);
}

static void fetch_next(struct go_note *g);
static void probe_next(struct go_note *g);

static bool on_line(const char *line, size_t len, void *userdata) {
        struct go_note *g = userdata;
        double v;
        bool got = g->fetching == METRIC_GO_GOROUTINES ? g->lines_read == 0 && go_pprof_goroutines(line, len, &v)
                                                       : go_pprof_heap_inuse(line, len, &v);
        if (got) {
                g->value[g->fetching] = v;
                g->fresh |= METRIC_BIT(g->fetching);
        }
        /* The goroutine count is the first line, yet the rest is read
         * (a few lines: goroutines are grouped by stack) so that the
         * connection serves the next request: 30% less CPU here and in
         * the target than a new connection each time. A huge answer is
         * cut short. */
        return ++g->lines_read < READ_THROUGH_LINES;
}

static void on_fetched(long status, const char *why, void *userdata) {
        struct go_note *g = userdata;
        g->in_flight = NULL;
        const char *name = metric_info(g->fetching)->name;
        char reason[600];
        if (status < 0)
                snprintf(reason, sizeof reason, "%s: %s", name, why);
        else if (status != 200)
                snprintf(reason, sizeof reason, "%s: HTTP %ld from %s", name, status, g->endpoint);
        else if (!(g->fresh & METRIC_BIT(g->fetching)))
                snprintf(reason, sizeof reason, "%s: %s answered with no %s", name, g->endpoint,
                         g->fetching == METRIC_GO_GOROUTINES ? "\"goroutine profile: total\" line" : "HeapInuse");
        else {
                runtime_note_answered(&g->rn, g->endpoint);
                fetch_next(g);
                return;
        }
        /* A found endpoint that fails may have moved: look again. */
        give_up_for_now(g, g->given, reason);
}

static void fetch_next(struct go_note *g) {
        if (!g->queued)
                return;
        g->fetching = g->queued & METRIC_BIT(METRIC_GO_GOROUTINES) ? METRIC_GO_GOROUTINES : METRIC_GO_HEAP_INUSE;
        g->queued &= ~METRIC_BIT(g->fetching);
        g->lines_read = 0;
        struct http_get get = {
                .endpoint = g->endpoint, .netns_fd = g->netns_fd, .timeout = g->timeout, .line = on_line,
                .done = on_fetched, .userdata = g,
                .path = g->fetching == METRIC_GO_GOROUTINES ? "/debug/pprof/goroutine?debug=1"
                                                            : "/debug/pprof/heap?debug=1",
        };
        int r = http_loop_get(g->st->http, &get, &g->in_flight);
        if (r < 0)
                give_up_for_now(g, g->found, strerror(-r));
}

static void on_probed(long status, const char *why, void *userdata) {
        struct go_note *g = userdata;
        g->in_flight = NULL;
        if (status != 200) {
                probe_next(g);
                return;
        }
        g->found = true;
        log_info("%s: go.* metrics from http://%s/debug/pprof/", g->rn.what, g->endpoint);
        fetch_next(g);
}

static void probe_next(struct go_note *g) {
        if (g->next_candidate == g->n_candidates) {
                char why[300];
                go_pprof_no_endpoint(g->n_candidates, why, sizeof why);
                give_up_for_now(g, false, why);
                return;
        }
        const struct listen_addr *a = &g->candidates[g->next_candidate++];
        snprintf(g->endpoint, sizeof g->endpoint, "%.47s:%u", a->host, a->port);
        struct http_get get = { .endpoint = g->endpoint, .path = "/debug/pprof/", .netns_fd = g->netns_fd,
                                .timeout = PROBE_TIMEOUT, .done = on_probed, .userdata = g };
        int r = http_loop_get(g->st->http, &get, &g->in_flight);
        if (r < 0)
                give_up_for_now(g, false, strerror(-r));
}

/* Looks for its endpoint; -ESRCH when it is gone. */
static int discover(struct go_note *g) {
        const struct proc_root *root = g->st->root;
        if (!is_go_program(root, g->rn.pid)) {
                if (proc_is_gone(root, g->rn.pid))
                        return -ESRCH;
                /* It may exec a Go program later (a shell's wrapper). */
                give_up_for_now(g, false, "not a Go program (its executable has no .go.buildinfo section)");
                return 0;
        }
        int r = listening_of_process(root, g->rn.pid, g->candidates, LISTEN_MAX, &g->n_candidates);
        if (r < 0) {
                if (proc_is_gone(root, g->rn.pid))
                        return -ESRCH;
                char why[100];
                snprintf(why, sizeof why, "cannot list its sockets: %s", strerror(-r));
                give_up_for_now(g, false, why);
                return 0;
        }
        g->next_candidate = 0;
        probe_next(g);
        return 0;
}

/* The endpoint its rules give, how long a request may take (its shortest
 * go.* rule's interval; a `sample` has no rules: a second), and whether
 * any rule asks. */
static const char *rules_of(const struct target *tg, usec_t *ret_timeout, bool *ret_asked) {
        const char *endpoint = NULL;
        usec_t timeout = 0;
        *ret_asked = false;
        for (size_t i = 0; i < tg->n_bindings; i++) {
                const struct rule *r = tg->bindings[i]->rule;
                if (!(GO_METRICS & METRIC_BIT(r->metric)))
                        continue;
                *ret_asked = true;
                endpoint = endpoint ? endpoint : r->go_pprof;
                timeout = timeout && timeout < r->interval ? timeout : r->interval;
        }
        timeout = timeout ? timeout : USEC_PER_SEC;
        *ret_timeout = timeout < TIMEOUT_MIN ? TIMEOUT_MIN : timeout > TIMEOUT_MAX ? TIMEOUT_MAX : timeout;
        return endpoint;
}

static int go_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        struct go_source_state *st = state;
        struct go_note *g = note_of(st, tg);
        if (!g)
                return -ENOMEM;
        for (int m = 0; m < _METRIC_MAX; m++)
                if (want & g->fresh & METRIC_BIT(m)) {
                        r->raw[m] = g->value[m];
                        r->have |= METRIC_BIT(m);
                }
        g->fresh &= ~want;
        bool asked;
        const char *given = rules_of(tg, &g->timeout, &asked);
        g->rn.quiet = !asked;
        /* A reload may give an endpoint, change it or take it away. */
        if (given ? !g->given || strcmp(given, g->endpoint) != 0 : g->given) {
                snprintf(g->endpoint, sizeof g->endpoint, "%s", given ? given : "");
                g->given = given;
                g->found = given;
                g->rn.not_before = 0;
        }
        if (!st->loop || g->in_flight || runtime_note_backing_off(&g->rn))
                return 0;
        int e;
        if (!st->http && (e = http_loop_new(st->loop, &st->http)) < 0)
                return e;
        if (!g->netns_known) {
                if ((e = open_netns(st->root, g->rn.pid, &g->netns_fd)) < 0)
                        return proc_is_gone(st->root, g->rn.pid) ? -ESRCH : 0;
                g->netns_known = true;
        }
        g->queued = want & GO_METRICS;
        if (g->found) {
                fetch_next(g);
                return 0;
        }
        return discover(g);
}

static double go_reference(void *state, struct target *tg, enum metric m, const char **ret_what) {
        return 0;
}

const struct source_ops go_source = {
        .open = go_open,
        .close = go_close,
        .read = go_read,
        .reference = go_reference,
};
