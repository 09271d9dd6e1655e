/* The artifact store: one directory per firing,
 * OUTPUT/<UTC YYYYmmddTHHMMSSZ>-<rule>-<comm>-<pid>/, mode 0700, files 0600.
 * It is built under a hidden name (.NAME.partial) and renamed into place
 * when complete, so a reader never sees half an artifact. */
#pragma once

#include <jansson.h>
#include <sys/types.h>

#include "util.h"

struct artifact {
        char *output;           /* the output directory */
        int out_fd;             /* of it, opened safely (output_dir.h), once created */
        char *name;             /* the final directory name */
        char *partial;          /* the hidden name it is built under */
        int dir_fd;             /* of the partial directory, once created */
};

/* An artifact not prepared yet: artifact_done() on it is a no-op. */
#define ARTIFACT_NULL { .dir_fd = -1, .out_fd = -1 }

/* Chooses the names; creates nothing. */
int artifact_prepare(const char *output, usec_t wall, const char *rule, const char *comm,
                     pid_t pid, struct artifact *ret);
/* Creates the output directory (if needed) and the partial directory. */
int artifact_create(struct artifact *a);
/* Creates a file in the artifact, mode 0600. */
int artifact_open_file(struct artifact *a, const char *name, int *ret_fd);
/* The same under a hidden name (.NAME.partial) for a file that is only
 * worth having whole (a core): artifact_publish() renames it into place,
 * artifact_discard() removes it, and a collector killed half-way leaves
 * only the hidden name, which artifact_abandon() removes. */
int artifact_open_partial(struct artifact *a, const char *name, int *ret_fd);
int artifact_publish(struct artifact *a, const char *name);
void artifact_discard(struct artifact *a, const char *name);
/* The hidden name a partial file is written under. */
void artifact_partial_name(const char *name, char *buf, size_t size);
/* Replaces trigger.json atomically, so it is valid at every moment. */
int artifact_write_json(int dir_fd, const char *name, json_t *doc);
/* Renames the partial directory into place; *ret_path is the final path.
 * If the name is taken (two firings in one second), a -2, -3… suffix. */
int artifact_commit(struct artifact *a, char **ret_path);
void artifact_done(struct artifact *a);

/* Removes dir_fd/name and everything below it, never following a link
 * (artifacts are two levels deep at most: proc/ holds files only). */
int remove_tree_at(int dir_fd, const char *name);
/* Lets group `gid` read the artifact at dir_fd (its hooks' user): the
 * directory and those below it 0750, files 0640, group gid. Links and
 * anything else are left as they are. */
int artifact_share_with_group(int dir_fd, gid_t gid);

/* Removes the partial directory and all in it. */
void artifact_remove(struct artifact *a);

/* Finishes an artifact whose collector died or timed out: marks actions
 * still pending as failed with `reason`, and commits it. */
int artifact_abandon(struct artifact *a, const char *reason, char **ret_path);

/* Total bytes under a directory (files' allocated size). */
int dir_disk_usage(int dir_fd, uint64_t *ret);
/* Free space of the filesystem holding `path`, in % of its size. */
int fs_free_pct(const char *path, double *ret);
