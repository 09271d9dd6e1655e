/* The .NET source: the dotnet.* metrics from the runtime's own
 * EventCounters (System.Runtime and the networking providers), read from
 * outside over its diagnostics IPC, as dotnet-counters reads them.
 *
 * A target has one long-lived EventPipe session (CollectTracing2, the
 * providers its rules need, EventCounterIntervalSec its shortest rule's
 * interval), streamed on a connection in the event loop: the reply and
 * the nettrace stream are read as they come, never waited for. The
 * runtime sends each counter once an interval; a read hands out the
 * values that came since the read before. A session that ends or fails
 * is started again after 1, 2, 4 … 60 s (runtime_note.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../bindings.h"
#include "../dotnet_attach.h"
#include "../log.h"
#include "../loop.h"
#include "../nettrace.h"
#include "../rules.h"
#include "../source.h"
#include "dotnet_named.h"
#include "dotnet_ops.h"
#include "runtime_note.h"

#define BUFFER_MIB 4
#define PROVIDERS_MAX 32

/* The metrics dotnet_named.h serves. */
#define NAMED_METRICS (METRIC_BIT(METRIC_DOTNET_ASPNET_RESPONSES_5XX) | \
                       (UINT64_MAX << METRIC_NAMED_FIRST & UINT64_MAX >> (63 - METRIC_NAMED_LAST)))

enum provider { RUNTIME, HTTP, DNS, SECURITY, ASPNET, TPL, _PROVIDER_MAX };

static const char *const provider_names[_PROVIDER_MAX] = {
        [RUNTIME] = "System.Runtime", [HTTP] = "System.Net.Http", [DNS] = "System.Net.NameResolution",
        [SECURITY] = "System.Net.Security", [ASPNET] = "Microsoft.AspNetCore.Hosting",
        /* Its TasksFlowActivityIds keyword gives Start/Stop events the
         * activity ids that pair them. */
        [TPL] = "System.Threading.Tasks.TplEventSource",
};
#define TPL_FLOW_ACTIVITY_IDS 0x80

/* The p99 metrics: an operation kind (dotnet_ops.h) and its provider. */
static const struct timed {
        enum metric metric;
        enum dotnet_op op;
        enum provider provider;
} timed[] = {
        { METRIC_DOTNET_HTTP_REQUEST_MS_P99, DOTNET_OP_HTTP, HTTP },
        { METRIC_DOTNET_DNS_RESOLUTION_MS_P99, DOTNET_OP_DNS, DNS },
        { METRIC_DOTNET_TLS_HANDSHAKE_MS_P99, DOTNET_OP_TLS, SECURITY },
        { METRIC_DOTNET_ASPNET_REQUEST_MS_P99, DOTNET_OP_ASPNET, ASPNET },
};

/* Each metric's counter, and how its value is taken: a mean counter's
 * Mean, an incrementing counter's Increment (per interval, or per second). */
static const struct counter {
        enum metric metric;
        enum provider provider;
        const char *name;
        double scale;
        bool per_second;
} counters[] = {
        { METRIC_DOTNET_GC_HEAP_SIZE, RUNTIME, "gc-heap-size", 1e6, false },       /* the runtime's MB are 10^6 */
        { METRIC_DOTNET_GC_TIME, RUNTIME, "time-in-gc", 1, false },
        { METRIC_DOTNET_ALLOC_RATE, RUNTIME, "alloc-rate", 1, true },
        { METRIC_DOTNET_THREADPOOL_QUEUE, RUNTIME, "threadpool-queue-length", 1, false },
        { METRIC_DOTNET_THREADPOOL_THREADS, RUNTIME, "threadpool-thread-count", 1, false },
        { METRIC_DOTNET_EXCEPTIONS, RUNTIME, "exception-count", 1, false },
        { METRIC_DOTNET_WORKING_SET, RUNTIME, "working-set", 1e6, false },
        { METRIC_DOTNET_HTTP_CURRENT_REQUESTS, HTTP, "current-requests", 1, false },
        { METRIC_DOTNET_HTTP_REQUESTS_FAILED, HTTP, "requests-failed-rate", 1, false },
        { METRIC_DOTNET_HTTP_QUEUE_DURATION, HTTP, "http11-requests-queue-duration", 1, false },
        { METRIC_DOTNET_DNS_LOOKUPS_DURATION, DNS, "dns-lookups-duration", 1, false },
};

struct dotnet_source_state {
        const struct proc_root *root;
        struct loop *loop;
        struct runtime_note *notes;     /* every target's: their sessions end with the source */
};

struct dotnet_note {
        struct runtime_note rn;
        struct dotnet_source_state *st; /* NULL once the source closed */
        int fd;                         /* the session's connection; -1: none */
        struct loop_source *watch;
        struct nettrace *trace;
        struct dotnet_ops *ops;         /* the operations timed, while a session lasts */
        struct dotnet_named *named;     /* the program's own telemetry, while a session lasts */
        unsigned providers;             /* the session's, a bit each */
        metric_set named_metrics;       /* the session's */
        unsigned interval_s;
        uint8_t reply[DOTNET_IPC_HEADER_SIZE + 8];
        size_t n_reply;                 /* < sizeof reply: the session's answer is still coming */
        usec_t heard;                   /* monotonic: when the runtime last sent anything */
        double value[_METRIC_MAX];
        metric_set fresh;               /* came and not handed out yet */
};

static void end_session(struct dotnet_note *n) {
        loop_source_free(n->watch);
        n->watch = NULL;
        if (n->fd >= 0)
                close(n->fd);       /* the runtime ends a session whose reader is gone */
        n->fd = -1;
        nettrace_free(n->trace);
        n->trace = NULL;
        dotnet_ops_free(n->ops);
        n->ops = NULL;
        dotnet_named_free(n->named);
        n->named = NULL;
}

static void note_free(struct source_note *sn) {
        struct dotnet_note *n = (struct dotnet_note *) sn;
        end_session(n);
        runtime_note_unlist(&n->rn);
        free(n);
}

static int dotnet_open(const struct source_env *env, void **ret_state) {
        struct dotnet_source_state *st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->root = env->proc;
        st->loop = env->loop;
        *ret_state = st;
        return 0;
}

static void dotnet_close(void *state) {
        struct dotnet_source_state *st = state;
        for (struct runtime_note *rn = st->notes; rn; rn = rn->next) {
                struct dotnet_note *n = (struct dotnet_note *) rn;
                end_session(n);
                n->st = NULL;
                rn->list = NULL;
        }
        free(st);
}

static struct dotnet_note *note_of(struct dotnet_source_state *st, struct target *tg) {
        bool made = !tg->notes[METRIC_SOURCE_DOTNET];
        struct dotnet_note *n = (struct dotnet_note *) runtime_note_of(tg, METRIC_SOURCE_DOTNET, sizeof *n, note_free,
                                                                       &st->notes, "dotnet.*");
        if (n && made) {
                n->st = st;
                n->fd = -1;
        }
        return n;
}

/* No values for now, and why (said once); a new session later. */
static void give_up_for_now(struct dotnet_note *n, const char *why) {
        end_session(n);
        runtime_note_failed(&n->rn, why);
}

/* One EventCounters event's fields, gathered. */
struct counter_payload {
        char name[64];
        double mean, increment, interval_s;
        bool has_mean, has_increment;
};

static void on_field(const struct nettrace_field *f, void *userdata) {
        struct counter_payload *c = userdata;
        if (f->is_text && strcmp(f->name, "Name") == 0)
                snprintf(c->name, sizeof c->name, "%s", f->text);
        else if (!f->is_text && strcmp(f->name, "Mean") == 0) {
                c->mean = f->value;
                c->has_mean = true;
        } else if (!f->is_text && strcmp(f->name, "Increment") == 0) {
                c->increment = f->value;
                c->has_increment = true;
        } else if (!f->is_text && strcmp(f->name, "IntervalSec") == 0)
                c->interval_s = f->value;
}

static void on_event(const struct nettrace_event *ev, void *userdata) {
        struct dotnet_note *n = userdata;
        struct counter_payload c = {};
        if (n->ops)
                dotnet_ops_event(n->ops, ev, nettrace_ticks_per_second(n->trace));
        if (strcmp(ev->meta->name, "EventCounters") != 0) {
                const char *trouble = NULL;
                if (n->named) {
                        dotnet_named_event(n->named, ev);
                        trouble = dotnet_named_trouble(n->named);
                }
                if (trouble)
                        log_warning("%s: %s", n->rn.what, trouble);
                return;
        }
        if (nettrace_fields(ev, on_field, &c) < 0 || (!c.has_mean && !c.has_increment))
                return;
        if (n->named)
                dotnet_named_counter(n->named, ev->meta->provider, c.name, c.has_mean ? c.mean : c.increment);
        for (size_t i = 0; i < ELEMENTSOF(counters); i++) {
                const struct counter *k = &counters[i];
                if (strcmp(ev->meta->provider, provider_names[k->provider]) != 0 || strcmp(c.name, k->name) != 0)
                        continue;
                double v = c.has_mean ? c.mean : c.increment;
                if (k->per_second)
                        v = c.interval_s > 0 ? v / c.interval_s : v;
                n->value[k->metric] = v * k->scale;
                n->fresh |= METRIC_BIT(k->metric);
                runtime_note_answered(&n->rn, "its runtime");
        }
}

static void on_readable(struct loop_source *s, int fd, uint32_t revents, void *userdata) {
        struct dotnet_note *n = userdata;
        static uint8_t buf[65536];
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && (errno == EAGAIN || errno == EINTR))
                return;
        n->heard = now_usec(CLOCK_MONOTONIC);
        if (got <= 0) {
                give_up_for_now(n, got == 0 ? "the runtime ended the session (it exits, or refused it)"
                                            : "the session's connection failed");
                return;
        }
        size_t from = 0;
        /* First the runtime's answer: OK and a session id, or an error. */
        while (n->n_reply < sizeof n->reply && from < (size_t) got) {
                n->reply[n->n_reply++] = buf[from++];
                struct dotnet_ipc_header h;
                if (n->n_reply == DOTNET_IPC_HEADER_SIZE + 4 &&
                    dotnet_ipc_parse_header(n->reply, n->n_reply, &h) == 0 && h.set == DOTNET_SET_SERVER &&
                    h.id == DOTNET_SERVER_ERROR) {
                        struct dotnet_ipc_reader r = { .p = n->reply + DOTNET_IPC_HEADER_SIZE, .len = 4 };
                        uint32_t hr = dotnet_ipc_get_u32(&r);
                        char why[200];
                        snprintf(why, sizeof why, "the runtime refused the counters session: %s (HRESULT 0x%08x)",
                                 dotnet_ipc_hresult_text(hr), (unsigned) hr);
                        give_up_for_now(n, why);
                        return;
                }
        }
        if (from == (size_t) got)
                return;
        int r = nettrace_feed(n->trace, buf + from, (size_t) got - from, on_event, n);
        if (r < 0)
                give_up_for_now(n, r == -EBADMSG ? "the runtime's event stream is not nettrace as this reader knows it"
                                                 : strerror(-r));
        else if (r > 0)
                give_up_for_now(n, "the runtime ended the session");
}

static int start_session(struct dotnet_note *n) {
        char why[400];
        static unsigned sessions;
        struct dotnet_provider p[PROVIDERS_MAX];
        size_t np = 0;
        char filter[48];
        snprintf(filter, sizeof filter, "EventCounterIntervalSec=%u", n->interval_s);
        for (int i = 0; i < _PROVIDER_MAX; i++)
                if (n->providers & (1u << i))
                        p[np++] = (struct dotnet_provider) { provider_names[i], i == TPL ? TPL_FLOW_ACTIVITY_IDS : 0, 4,
                                                             i == TPL ? NULL : filter };
        int r = n->named_metrics ? dotnet_named_new(n->named_metrics, n->interval_s, ++sessions, &n->named) : 0;
        if (r < 0) {
                give_up_for_now(n, "cannot start the counters session");
                return 0;
        }
        if (n->named)
                dotnet_named_providers(n->named, p, &np, ELEMENTSOF(p));
        r = dotnet_connect(n->st->root, n->rn.pid, &n->fd, why, sizeof why);
        if (r < 0) {
                if (proc_is_gone(n->st->root, n->rn.pid))
                        return -ESRCH;
                give_up_for_now(n, why);
                return 0;
        }
        static struct dotnet_ipc_writer w;
        dotnet_ipc_collect_tracing(&w, BUFFER_MIB, false, p, np);
        if (dotnet_send(n->fd, &w, why, sizeof why) < 0 || fcntl(n->fd, F_SETFL, O_NONBLOCK) < 0 ||
            (r = nettrace_new(&n->trace)) < 0 ||
            /* Operations are timed only for the rules that want them. */
            ((n->providers & 1u << TPL) && (r = dotnet_ops_new(&n->ops)) < 0) ||
            (r = loop_add_io(n->st->loop, n->fd, EPOLLIN, on_readable, n, &n->watch)) < 0) {
                give_up_for_now(n, "cannot start the counters session");
                return 0;
        }
        n->n_reply = 0;
        n->heard = now_usec(CLOCK_MONOTONIC);
        return 0;
}

/* The providers the wanted metrics need, and the shortest interval of
 * its dotnet.* rules in whole seconds (a `sample`: 1). */
static unsigned providers_of(metric_set want) {
        unsigned p = 0;
        for (size_t i = 0; i < ELEMENTSOF(counters); i++)
                if (want & METRIC_BIT(counters[i].metric))
                        p |= 1u << counters[i].provider;
        for (size_t i = 0; i < ELEMENTSOF(timed); i++)
                if (want & METRIC_BIT(timed[i].metric))
                        p |= 1u << timed[i].provider | 1u << TPL;
        return p;
}

static unsigned interval_of(const struct target *tg, bool *ret_asked) {
        usec_t shortest = 0;
        *ret_asked = false;
        for (size_t i = 0; i < tg->n_bindings; i++) {
                const struct rule *r = tg->bindings[i]->rule;
                if (metric_info(r->metric)->source != METRIC_SOURCE_DOTNET)
                        continue;
                *ret_asked = true;
                shortest = shortest && shortest < r->interval ? shortest : r->interval;
        }
        unsigned s = (unsigned) (shortest / USEC_PER_SEC);
        return s ? s : 1;
}

static int dotnet_read(void *state, struct target *tg, metric_set want, struct reading *r) {
        struct dotnet_source_state *st = state;
        struct dotnet_note *n = note_of(st, tg);
        if (!n)
                return -ENOMEM;
        for (int m = 0; m < _METRIC_MAX; m++)
                if (want & n->fresh & METRIC_BIT(m)) {
                        r->raw[m] = n->value[m];
                        r->have |= METRIC_BIT(m);
                }
        n->fresh &= ~want;
        for (size_t i = 0; n->ops && i < ELEMENTSOF(timed); i++)
                if ((want & METRIC_BIT(timed[i].metric)) && dotnet_ops_p99(n->ops, timed[i].op, &r->raw[timed[i].metric]))
                        r->have |= METRIC_BIT(timed[i].metric);
        /* Counts are of a session the runtime took. */
        for (int m = 0; n->named && n->n_reply == sizeof n->reply && m < _METRIC_MAX; m++)
                if ((want & NAMED_METRICS & METRIC_BIT(m)) && dotnet_named_take(n->named, (enum metric) m, &r->raw[m]))
                        r->have |= METRIC_BIT(m);
        bool asked;
        unsigned interval = interval_of(tg, &asked), providers = providers_of(want) | n->providers;
        metric_set named = (want & NAMED_METRICS) | n->named_metrics;
        n->rn.quiet = !asked;
        /* A reload that needs another provider or interval: a new session. */
        if (n->fd >= 0 && (providers != n->providers || named != n->named_metrics || interval != n->interval_s))
                end_session(n);
        n->providers = providers;
        n->named_metrics = named;
        n->interval_s = interval;
        /* A runtime that is stopped or hung sends nothing, not even an
         * end: after three of its intervals (5 s at least) that is the
         * reason, and the session is started again later. */
        usec_t silence = 3 * (usec_t) n->interval_s * USEC_PER_SEC;
        if (n->fd >= 0 && now_usec(CLOCK_MONOTONIC) - n->heard > (silence > 5 * USEC_PER_SEC ? silence : 5 * USEC_PER_SEC)) {
                char why[100];
                snprintf(why, sizeof why, "the runtime sent nothing for %llu s (stopped, or hung?)",
                         (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - n->heard) / USEC_PER_SEC));
                give_up_for_now(n, why);
        }
        if (!st->loop || n->fd >= 0 || runtime_note_backing_off(&n->rn))
                return 0;
        return start_session(n);
}

static double dotnet_reference(void *state, struct target *tg, enum metric m, const char **ret_what) {
        return 0;
}

const struct source_ops dotnet_source = {
        .open = dotnet_open,
        .close = dotnet_close,
        .read = dotnet_read,
        .reference = dotnet_reference,
};
