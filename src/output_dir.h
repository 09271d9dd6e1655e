/* The output directory, opened safely. autodump runs as root and writes
 * cores there: a directory another user can write (or any directory on its
 * path another user owns) would let them plant symlinks that make root
 * write or delete elsewhere. As systemd does for its state directories,
 * every component of the path must be owned by root or by us and not
 * writable by others (a root-owned sticky directory such as /tmp is fine:
 * no one can replace what we create in it); the directory itself, when
 * ours, is tightened to 0700 rather than refused (a Kubernetes emptyDir is
 * 0777). Everything is opened with O_NOFOLLOW from the directory above. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Opens `path` (made first, when `create`, 0755 above and 0700 itself) as a
 * directory fd. On refusal returns -EPERM and says why in `why`. */
int output_dir_open(const char *path, bool create, int *ret_fd, char *why, size_t why_size);
/* Lets group `gid` (the hooks' user's) pass through the output directory
 * at fd, when it is ours: group gid, g+x. Nothing more: it cannot list it. */
int output_dir_share(int fd, gid_t gid);
