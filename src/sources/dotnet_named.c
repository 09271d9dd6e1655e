#include "dotnet_named.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../p99.h"
#include "../util.h"

#define METRICS "System.Diagnostics.Metrics"
#define METRICS_TIME_SERIES 0x2
#define BRIDGE "Microsoft-Diagnostics-DiagnosticSource"
#define BRIDGE_EVENTS 0x2
/* The end of an ASP.NET Core request, its status picked from the context
 * (what the bridge's own AspNetCoreHosting keyword picks). */
#define ASPNET_LISTENER "Microsoft.AspNetCore"
#define ASPNET_END "Microsoft.AspNetCore.Hosting.EndRequest"
#define STATUS "StatusCode"
#define DURATION "DurationMs"

struct slot {
        enum metric m;
        enum metric_form form;          /* none: responses_5xx */
        char source[100], name[160];    /* the key: provider, meter or listener; counter, instrument or event */
        double value, pending;          /* the last value; a Metrics collection's so far */
        bool has_value, has_pending;
        unsigned count;
        struct p99_window durations;
};

struct dotnet_named {
        struct slot slots[METRIC_NAMED_LAST - METRIC_NAMED_FIRST + 2];
        size_t n;
        char session_id[32];
        char counter_args[48];
        char *metrics_args, *bridge_args;       /* those providers' arguments */
        char trouble[300];              /* what System.Diagnostics.Metrics said went wrong, not said yet */
};

/* Whether any slot is of one of `forms` (a bit each). */
static bool has_form(const struct dotnet_named *n, unsigned forms) {
        for (size_t i = 0; i < n->n; i++)
                if (forms & 1u << n->slots[i].form)
                        return true;
        return false;
}

static int make_args(struct dotnet_named *n, unsigned interval_s) {
        char *metrics = NULL, *bridge = NULL;
        size_t metrics_len = 0, bridge_len = 0;
        FILE *mf = open_memstream(&metrics, &metrics_len), *bf = open_memstream(&bridge, &bridge_len);
        if (!mf || !bf) {
                if (mf)
                        fclose(mf);
                if (bf)
                        fclose(bf);
                free(metrics);
                free(bridge);
                return -ENOMEM;
        }
        fprintf(mf, "SessionId=%s;Metrics=", n->session_id);
        /* Each bridge line is LISTENER/EVENT:TRANSFORMS, "-" leaving out
         * the payload's own properties; an activity's plain name is there
         * for the program's IsEnabled(NAME) before it starts one. */
        fputs("FilterAndPayloadSpecs=\"", bf);
        bool first_instrument = true;
        for (size_t i = 0; i < n->n; i++) {
                const struct slot *s = &n->slots[i];
                if (s->form == METRIC_FORM_DOTNET) {
                        fprintf(mf, "%s%s\\%s", first_instrument ? "" : ",", s->source, s->name);
                        first_instrument = false;
                } else if (s->form == METRIC_FORM_DOTNET_EVENTS)
                        fprintf(bf, "%s/%s:-\n", s->source, s->name);
                else if (s->form == METRIC_FORM_DOTNET_ACTIVITY_MS_P99)
                        fprintf(bf, "%s/%s:-\n%s/%s.Stop:-" DURATION "=*Activity.Duration.TotalMilliseconds\n",
                                s->source, s->name, s->source, s->name);
                else
                        fputs(ASPNET_LISTENER "/" ASPNET_END ":-" STATUS "=httpContext.Response.StatusCode\n", bf);
        }
        fprintf(mf, ";RefreshInterval=%u;MaxTimeSeries=1000;MaxHistograms=20", interval_s);
        fputs("\"", bf);
        bool ok = fclose(mf) == 0 && fclose(bf) == 0;
        n->metrics_args = metrics;
        n->bridge_args = bridge;
        return ok ? 0 : -ENOMEM;
}

int dotnet_named_new(metric_set want, unsigned interval_s, unsigned session_id, struct dotnet_named **ret) {
        struct dotnet_named *n = calloc(1, sizeof *n);
        if (!n)
                return -ENOMEM;
        _Static_assert(METRIC_NAMED_FIRST == METRIC_DOTNET_ASPNET_RESPONSES_5XX + 1, "the metrics served here are one run");
        for (int m = METRIC_DOTNET_ASPNET_RESPONSES_5XX; m <= METRIC_NAMED_LAST; m++) {
                if (!(want & METRIC_BIT(m)))
                        continue;
                struct slot *s = &n->slots[n->n++];
                s->m = (enum metric) m;
                s->form = metric_form_of(s->m);
                const char *key = metric_key(s->m);
                if (key)
                        snprintf(s->source, sizeof s->source, "%.*s", (int) strcspn(key, "/"), key);
                snprintf(s->name, sizeof s->name, "%s", key ? key + strcspn(key, "/") + 1 : "");
        }
        snprintf(n->session_id, sizeof n->session_id, "autodump-%u", session_id);
        snprintf(n->counter_args, sizeof n->counter_args, "EventCounterIntervalSec=%u", interval_s);
        int r = n->n ? make_args(n, interval_s) : -ENOENT;
        if (r < 0) {
                dotnet_named_free(n);
                return r;
        }
        *ret = n;
        return 0;
}

void dotnet_named_free(struct dotnet_named *n) {
        if (!n)
                return;
        for (size_t i = 0; i < n->n; i++)
                p99_free(&n->slots[i].durations);
        free(n->metrics_args);
        free(n->bridge_args);
        free(n);
}

static void add_provider(struct dotnet_provider *p, size_t *np, size_t max, struct dotnet_provider add) {
        for (size_t i = 0; i < *np; i++)
                if (strcmp(p[i].name, add.name) == 0)
                        return;
        if (*np < max)
                p[(*np)++] = add;
}

void dotnet_named_providers(const struct dotnet_named *n, struct dotnet_provider *p, size_t *np, size_t max) {
        for (size_t i = 0; i < n->n; i++)
                if (n->slots[i].form == METRIC_FORM_DOTNET)
                        add_provider(p, np, max, (struct dotnet_provider) { n->slots[i].source, 0, 4, n->counter_args });
        if (has_form(n, 1u << METRIC_FORM_DOTNET))
                add_provider(p, np, max, (struct dotnet_provider) { METRICS, METRICS_TIME_SERIES, 4, n->metrics_args });
        if (has_form(n, 1u << METRIC_FORM_NONE | 1u << METRIC_FORM_DOTNET_EVENTS |
                        1u << METRIC_FORM_DOTNET_ACTIVITY_MS_P99))
                add_provider(p, np, max, (struct dotnet_provider) { BRIDGE, BRIDGE_EVENTS, 5, n->bridge_args });
}

void dotnet_named_counter(struct dotnet_named *n, const char *provider, const char *name, double value) {
        for (size_t i = 0; i < n->n; i++) {
                struct slot *s = &n->slots[i];
                if (s->form == METRIC_FORM_DOTNET && strcmp(s->source, provider) == 0 && strcmp(s->name, name) == 0) {
                        s->value = value;
                        s->has_value = true;
                }
        }
}

/* The fields of a bridge Event or of a Metrics event that matter here. */
struct payload {
        char source[100], name[160], key[32];
        char session[32], rate[64], value[64], quantiles[256], error[128];
        double duration, status;
        bool has_duration, has_status;
};

/* A number the program formatted with ToString() in its own culture. */
static double parse_number(const char *text) {
        char copy[64];
        snprintf(copy, sizeof copy, "%s", text);
        char *comma = strchr(copy, ',');
        if (comma)
                *comma = '.';
        return strtod(copy, NULL);
}

static void on_field(const struct nettrace_field *f, void *userdata) {
        struct payload *p = userdata;
        static const struct {
                const char *field;
                size_t offset, size;
        } texts[] = {
                { "SourceName", offsetof(struct payload, source), sizeof ((struct payload *) 0)->source },
                { "meterName", offsetof(struct payload, source), sizeof ((struct payload *) 0)->source },
                { "EventName", offsetof(struct payload, name), sizeof ((struct payload *) 0)->name },
                { "instrumentName", offsetof(struct payload, name), sizeof ((struct payload *) 0)->name },
                { "Key", offsetof(struct payload, key), sizeof ((struct payload *) 0)->key },
                { "sessionId", offsetof(struct payload, session), sizeof ((struct payload *) 0)->session },
                { "rate", offsetof(struct payload, rate), sizeof ((struct payload *) 0)->rate },
                { "value", offsetof(struct payload, value), sizeof ((struct payload *) 0)->value },
                { "lastValue", offsetof(struct payload, value), sizeof ((struct payload *) 0)->value },
                { "quantiles", offsetof(struct payload, quantiles), sizeof ((struct payload *) 0)->quantiles },
                { "errorMessage", offsetof(struct payload, error), sizeof ((struct payload *) 0)->error },
        };
        if (!f->is_text)
                return;
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                if (strcmp(f->name, texts[i].field) == 0) {
                        snprintf((char *) p + texts[i].offset, texts[i].size, "%s", f->text);
                        return;
                }
        if (strcmp(f->name, "Value") != 0)
                return;
        if (strcmp(p->key, DURATION) == 0) {
                p->duration = parse_number(f->text);
                p->has_duration = true;
        } else if (strcmp(p->key, STATUS) == 0) {
                p->status = parse_number(f->text);
                p->has_status = true;
        }
}

static void on_bridge_event(struct dotnet_named *n, const struct payload *p) {
        size_t name_len = strlen(p->name);
        for (size_t i = 0; i < n->n; i++) {
                struct slot *s = &n->slots[i];
                if (s->form == METRIC_FORM_NONE) {
                        if (strcmp(p->source, ASPNET_LISTENER) == 0 && strcmp(p->name, ASPNET_END) == 0 &&
                            p->has_status && p->status >= 500)
                                s->count++;
                } else if (strcmp(s->source, p->source) != 0)
                        continue;
                else if (s->form == METRIC_FORM_DOTNET_EVENTS && strcmp(s->name, p->name) == 0)
                        s->count++;
                else if (s->form == METRIC_FORM_DOTNET_ACTIVITY_MS_P99 && p->has_duration &&
                         name_len == strlen(s->name) + 5 && strncmp(p->name, s->name, name_len - 5) == 0 &&
                         strcmp(p->name + name_len - 5, ".Stop") == 0)
                        p99_add(&s->durations, p->duration);
        }
}

/* The 0.99 quantile of a histogram's "0.5=1.2;0.95=3;0.99=7.5". */
static bool quantile_99(const char *quantiles, double *ret) {
        const char *q = strstr(quantiles, "0.99=");
        if (!q || (q != quantiles && q[-1] != ';'))
                return false;
        *ret = strtod(q + 5, NULL);
        return true;
}

/* A Metrics event's value: a counter's growth in the interval, an
 * up-down counter's level, a gauge's last value, a histogram's p99. */
static bool metrics_value(const char *event, const struct payload *p, double *ret) {
        if (strcmp(event, "HistogramValuePublished") == 0)
                return quantile_99(p->quantiles, ret);
        const char *text = strcmp(event, "CounterRateValuePublished") == 0 ? p->rate : p->value;
        *ret = strtod(text, NULL);
        return *text;
}

/* Metrics' complaints that leave instruments without values. */
static bool metrics_trouble(struct dotnet_named *n, const char *event, const struct payload *p) {
        if (strncmp(event, "MultipleSessions", 16) == 0)
                snprintf(n->trouble, sizeof n->trouble, "another tool reads its System.Diagnostics.Metrics "
                         "(dotnet-counters, dotnet-monitor?): its instruments give no values here meanwhile");
        else if (strcmp(p->session, n->session_id) != 0)
                return false;
        else if (strcmp(event, "Error") == 0)
                snprintf(n->trouble, sizeof n->trouble, "System.Diagnostics.Metrics: %s", p->error);
        else if (strcmp(event, "MaxTimeSeriesReached") == 0 || strcmp(event, "MaxHistogramsReached") == 0)
                snprintf(n->trouble, sizeof n->trouble, "System.Diagnostics.Metrics: an instrument has more sets "
                         "of tags than a session takes (%s): those past it are left out", event);
        else
                return false;
        return true;
}

static void on_metrics_event(struct dotnet_named *n, const char *event, const struct payload *p) {
        if (metrics_trouble(n, event, p))
                return;
        bool start = strcmp(event, "CollectionStart") == 0, stop = strcmp(event, "CollectionStop") == 0;
        bool histogram = strcmp(event, "HistogramValuePublished") == 0;
        double v = 0;
        if (strcmp(p->session, n->session_id) != 0 || (!start && !stop && !metrics_value(event, p, &v)))
                return;
        for (size_t i = 0; i < n->n; i++) {
                struct slot *s = &n->slots[i];
                if (s->form != METRIC_FORM_DOTNET)
                        continue;
                if (start)
                        s->has_pending = false;
                else if (stop && s->has_pending) {
                        s->value = s->pending;
                        s->has_value = true;
                } else if (!start && !stop && strcmp(s->source, p->source) == 0 && strcmp(s->name, p->name) == 0) {
                        /* One instrument, a series per set of tags: their
                         * sum (the worst p99 for a histogram). */
                        s->pending = !s->has_pending ? v : histogram ? (v > s->pending ? v : s->pending)
                                                                     : s->pending + v;
                        s->has_pending = true;
                }
        }
}

void dotnet_named_event(struct dotnet_named *n, const struct nettrace_event *ev) {
        bool bridge = strcmp(ev->meta->provider, BRIDGE) == 0 && strcmp(ev->meta->name, "Event") == 0;
        bool metrics = strcmp(ev->meta->provider, METRICS) == 0;
        struct payload p = {};
        if ((!bridge && !metrics) || nettrace_fields(ev, on_field, &p) < 0)
                return;
        if (bridge)
                on_bridge_event(n, &p);
        else
                on_metrics_event(n, ev->meta->name, &p);
}

const char *dotnet_named_trouble(struct dotnet_named *n) {
        static char said[sizeof n->trouble];
        if (!*n->trouble)
                return NULL;
        snprintf(said, sizeof said, "%s", n->trouble);
        *n->trouble = 0;
        return said;
}

bool dotnet_named_take(struct dotnet_named *n, enum metric m, double *ret) {
        for (size_t i = 0; i < n->n; i++) {
                struct slot *s = &n->slots[i];
                if (s->m != m)
                        continue;
                switch (s->form) {
                case METRIC_FORM_DOTNET:
                        *ret = s->value;
                        if (!s->has_value)
                                return false;
                        s->has_value = false;
                        return true;
                case METRIC_FORM_DOTNET_ACTIVITY_MS_P99:
                        return p99_take(&s->durations, ret);
                default:
                        *ret = s->count;
                        s->count = 0;
                        return true;
                }
        }
        return false;
}
