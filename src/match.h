/* Which rules apply to a process. Pure: the facts are gathered by the
 * caller, cmdline and uid only when some rule asks for them. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "rules.h"

enum watch_mode { MODE_RUN, MODE_WATCH };

struct proc_facts {
        pid_t pid;
        const char *comm;
        bool in_tree;           /* run mode: the command or a descendant */
        bool listed;            /* watch mode: given with -p */
        const char *cmdline;    /* NULL: not read */
        bool has_uid;
        uid_t uid;
};

/* Whether matching `m` needs the cmdline or uid of the process. */
bool match_needs_details(const struct target_match *m);
bool target_matches(const struct target_match *m, enum watch_mode mode, const struct proc_facts *f);
