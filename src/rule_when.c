/* A rule's `when`: thresholds (a size, a number or a %, by the metric),
 * spike, min, for, the growth trend and PSI stall triggers. */
#include "rule_when.h"

#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trend.h"
#include "units.h"

/* A threshold of `above` or `min`: a size, a number, or a % of the metric's
 * reference, depending on the metric. */
static bool parse_threshold(struct schema_ctx *c, const struct ynode *v, const char *what,
                            const struct metric_info *mi, double *ret, bool *ret_pct) {
        if (!schema_want(c, v, YNODE_SCALAR, what))
                return false;
        if (is_percent(v->scalar)) {
                if (!mi->has_reference) {
                        schema_err(c, v, "%s: a %% needs a reference, and metric '%s' has none; give a number",
                            what, mi->name);
                        return false;
                }
                if (parse_percent(v->scalar, ret) < 0) {
                        schema_err(c, v, "%s: '%s' is not a percentage", what, v->scalar);
                        return false;
                }
                /* For cpu the reference is one core = 100, so 90% is 90. */
                *ret_pct = mi->kind != METRIC_KIND_CORES;
                if (*ret_pct && *ret > 100) {
                        schema_err(c, v, "%s: %s of %s can never be reached", what, v->scalar, mi->reference);
                        return false;
                }
                return true;
        }
        *ret_pct = false;
        if (mi->kind == METRIC_KIND_BYTES) {
                if (parse_size(v->scalar, ret) < 0) {
                        schema_err(c, v, "%s: '%s' is not a size (bytes, or KiB MiB GiB TiB / KB MB GB TB)",
                            what, v->scalar);
                        return false;
                }
        } else if (parse_number(v->scalar, ret) < 0) {
                schema_err(c, v, "%s: '%s' is not a number%s", what, v->scalar,
                    mi->has_reference ? " or a percentage" : "");
                return false;
        }
        return true;
}

static bool have_cap_sys_resource(void) {
        struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
        struct __user_cap_data_struct d[2] = {};
        return syscall(SYS_capget, &h, d) == 0 && (d[0].effective & (1u << CAP_SYS_RESOURCE));
}

/* `stall: 150ms, per: 2s`: a kernel PSI trigger. The window is checked as
 * the kernel will check it, so `check` says what writing it would refuse. */
static void parse_stall(struct schema_ctx *c, const struct ynode *n, const struct metric_info *mi,
                        struct condition *cond) {
        const struct ynode *stall = schema_get(n, "stall"), *per = schema_get(n, "per");
        if (!stall || !per) {
                schema_err(c, n, "when: stall and per go together, as in {stall: 150ms, per: 2s}");
                return;
        }
        if (schema_get(n, "above") || schema_get(n, "spike") || schema_get(n, "min") || schema_get(n, "for") ||
            schema_get(n, "growth"))
                schema_err(c, n, "when: a stall trigger fires on the kernel's notice; above, spike, growth, min and "
                           "for do not go with it");
        if (mi && mi->source != METRIC_SOURCE_PSI)
                schema_err(c, stall, "stall: triggers exist for psi.* metrics only, not '%s'", mi->name);
        if (!schema_duration(c, stall, "stall", &cond->stall) || !schema_duration(c, per, "per", &cond->stall_window))
                return;
        usec_t w = cond->stall_window;
        if (w < 500 * USEC_PER_MSEC || w > 10 * USEC_PER_SEC)
                schema_err(c, per, "per: %s is outside the kernel's 500ms to 10s", per->scalar);
        else if (w % (2 * USEC_PER_SEC) != 0 && !have_cap_sys_resource())
                schema_err(c, per, "per: %s must be a multiple of 2s here: without CAP_SYS_RESOURCE the kernel "
                           "takes only those", per->scalar);
        if (cond->stall == 0 || cond->stall > w)
                schema_err(c, stall, "stall: %s must be above 0 and at most per (%s)", stall->scalar, per->scalar);
        cond->has_stall = true;
}

/* `growth: 50MiB/m, over: 10m`: a rate (a size, or a number, per s, m or h)
 * and the window it is measured over. */
static void parse_growth(struct schema_ctx *c, const struct ynode *n, const struct metric_info *mi, usec_t interval,
                         struct condition *cond) {
        const struct ynode *g = schema_get(n, "growth"), *over = schema_get(n, "over");
        if (!g || !over) {
                schema_err(c, n, "when: growth and over go together, as in {growth: 50MiB/m, over: 10m}");
                return;
        }
        if (!schema_want(c, g, YNODE_SCALAR, "growth") || !schema_duration(c, over, "over", &cond->over) || !mi)
                return;
        static const struct { char unit; double seconds; } per[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 } };
        const char *slash = strrchr(g->scalar, '/');
        double seconds = 0, amount;
        for (size_t i = 0; slash && i < ELEMENTSOF(per); i++)
                if (slash[1] == per[i].unit && !slash[2])
                        seconds = per[i].seconds;
        _cleanup_free_ char *amount_text = slash ? strndup(g->scalar, (size_t) (slash - g->scalar)) : NULL;
        int r = !seconds || !amount_text ? -EINVAL
                : mi->kind == METRIC_KIND_BYTES ? parse_size(amount_text, &amount) : parse_number(amount_text, &amount);
        if (r < 0 || amount <= 0) {
                schema_err(c, g, "growth: '%s' is not a rate, such as %s/m (per s, m or h)", g->scalar,
                           mi->kind == METRIC_KIND_BYTES ? "50MiB" : "100");
                return;
        }
        /* Each of the trend's buckets needs a sample at least. */
        if (cond->over < TREND_BUCKETS * interval) {
                char iv[32];
                format_duration(interval, iv, sizeof iv);
                schema_err(c, over, "over: %s is too short to see a trend in samples %s apart: give at least %d "
                           "intervals", over->scalar, iv, TREND_BUCKETS);
                return;
        }
        if (cond->over > 7 * 86400 * USEC_PER_SEC) {
                schema_err(c, over, "over: %s is more than the 7d a trend is kept for", over->scalar);
                return;
        }
        cond->growth = amount / seconds;
        cond->has_growth = true;
}

void rule_parse_when(struct schema_ctx *c, const struct ynode *n, const struct metric_info *mi, usec_t interval,
                       struct condition *cond) {
        static const char *const keys[] = { "above", "spike", "min", "for", "growth", "over", "stall", "per", NULL };
        if (!schema_want(c, n, YNODE_MAP, "when"))
                return;
        schema_check_keys(c, n, "when", keys, NULL);
        const struct ynode *v;
        if ((v = schema_get(n, "above")) && mi)
                cond->has_above = parse_threshold(c, v, "above", mi, &cond->above, &cond->above_is_pct);
        if ((v = schema_get(n, "min")) && mi)
                cond->has_min = parse_threshold(c, v, "min", mi, &cond->min, &cond->min_is_pct);
        if ((v = schema_get(n, "spike")) && schema_want(c, v, YNODE_SCALAR, "spike")) {
                if (!is_percent(v->scalar) || parse_percent(v->scalar, &cond->spike_pct) < 0)
                        schema_err(c, v, "spike: '%s' must be a percentage over the mean, such as 25%%",
                            v->scalar);
                else
                        cond->has_spike = true;
        }
        if ((v = schema_get(n, "for")) && schema_want(c, v, YNODE_SCALAR, "for")) {
                unsigned samples;
                if (parse_unsigned(v->scalar, &samples) == 0 && samples >= 1) {
                        cond->for_samples = samples;
                        if (samples > RULE_COUNT_MAX)
                                schema_err(c, v, "for: %s samples is more than the %d maximum", v->scalar, RULE_COUNT_MAX);
                } else if (parse_duration(v->scalar, &cond->for_duration) < 0)
                        schema_err(c, v, "for: '%s' is neither a count of samples (≥ 1) nor a duration",
                            v->scalar);
                else if (cond->for_duration > RULE_DURATION_MAX)
                        schema_err(c, v, "for: %s is more than the 1d maximum", v->scalar);
        }
        if (schema_get(n, "growth") || schema_get(n, "over"))
                parse_growth(c, n, mi, interval, cond);
        if (schema_get(n, "stall") || schema_get(n, "per"))
                parse_stall(c, n, mi, cond);
        else if (!schema_get(n, "above") && !schema_get(n, "spike") && !schema_get(n, "growth"))
                schema_err(c, n, "when needs 'above', 'spike' or 'growth' (min alone never fires)");
}

void rule_when_describe(enum metric m, const struct condition *c, char *buf, size_t size) {
        char v[32];
        size_t n = 0;
        buf[0] = 0;
#define ADD(...) n += (size_t) snprintf(buf + n, n < size ? size - n : 0, __VA_ARGS__)
        if (c->has_above) {
                if (c->above_is_pct)
                        snprintf(v, sizeof v, "%g%%", c->above);
                else
                        metric_format(m, c->above, v, sizeof v);
                ADD("above %s", v);
        }
        if (c->has_spike)
                ADD("%sspike %g%%", n ? ", " : "", c->spike_pct);
        if (c->has_growth) {
                metric_format(m, 60 * c->growth, v, sizeof v);
                ADD("%sgrowth %s/m", n ? ", " : "", v);
        }
        if (c->has_stall) {
                format_duration(c->stall, v, sizeof v);
                ADD("%sstall %s", n ? ", " : "", v);
        }
        if (c->has_min) {
                if (c->min_is_pct)
                        snprintf(v, sizeof v, "%g%%", c->min);
                else
                        metric_format(m, c->min, v, sizeof v);
                ADD("%smin %s", n ? ", " : "", v);
        }
        if (c->for_duration) {
                format_duration(c->for_duration, v, sizeof v);
                ADD("%sfor %s", n ? ", " : "", v);
        } else if (c->for_samples > 1)
                ADD("%sfor %u", n ? ", " : "", c->for_samples);
#undef ADD
}
