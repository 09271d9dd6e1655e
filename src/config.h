/* /etc/autodump/autodump.conf (INI, inih). Errors are FILE:LINE:COL. */
#pragma once

#include <sys/types.h>

#include "diag.h"
#include "retention.h"
#include "util.h"

/* Who exec actions and on_complete hooks run as ([collect] hook_user). */
struct hook_user {
        char *name;             /* NULL: autodump's own user */
        uid_t uid;
        gid_t gid;              /* the user's group, which artifacts are shared with */
};

struct config {
        char *rules;            /* [watch] rules: file or directory */
        char *output;           /* [watch] output */
        usec_t interval;        /* [watch] interval: how often /proc is rescanned */
        usec_t rescan;          /* [watch] rescan: how often, when process events tell of new ones; 0: never used */
        double max_total;       /* [storage] bytes; 0 = no limit */
        unsigned max_count;     /* 0 = no limit */
        double min_free_pct;    /* never start a capture below this much free space */
        usec_t keep;            /* 0 = forever */
        usec_t timeout;         /* [collect] per collection */
        unsigned parallel;      /* concurrent collections */
        unsigned queue;         /* firings that may wait for a slot */
        char *on_complete;      /* a command line run for each artifact once in place; NULL: none */
        usec_t on_complete_timeout;     /* 0: the collection's own timeout */
        char *debuginfod;       /* debuginfod server URLs for symbols; NULL: no network */
        struct hook_user hook_user;
        int log_level;                  /* [log] level: LOG_ERR..LOG_DEBUG; 0: not set */
        char *record_path;              /* [record] path: the SQLite recording; NULL: none */
        double record_max_size;         /* [record] max_size, bytes; 0 = no limit */
};

#define CONFIG_DEFAULT_PATH "/etc/autodump/autodump.conf"

void config_defaults(struct config *c);
/* Loads `path` over the defaults. A missing file is fine when !required. */
int config_load(struct config *c, const char *path, bool required, struct diags *diags);
/* The same from text already read; `path` names it in errors. */
int config_load_text(struct config *c, const char *path, const char *text, size_t len, struct diags *diags);
void config_free(struct config *c);
/* [storage]'s limits; a partial artifact older than [collect] timeout is
 * one no collector will finish. */
struct retention_limits config_retention(const struct config *c);
