/* The subcommands' flag parser (args.c). */
#ifndef ARTEMISCTL_ARGS_H
#define ARTEMISCTL_ARGS_H

#include "ctl.h"

/* Returned by ctl_args after printing --help: the command exits 0. */
#define CTL_HELP      (-1)
#define CTL_MULTI_MAX 64

typedef struct ctl_multi {
    const char *v[CTL_MULTI_MAX];
    int n;
} ctl_multi_t;

/* One flag: exactly one of value (takes a value), flag (boolean), multi (repeatable). */
typedef struct ctl_flag {
    const char *name;
    const char **value;
    int *flag;
    ctl_multi_t *multi;
} ctl_flag_t;

/* Parse argv[1..] (argv[0] is the command). Positionals go to pos (room for max_pos).
 * CTL_OK, CTL_HELP (help printed), or CTL_USAGE (one line printed). */
int ctl_args(ctl_t *c, const char *cmd, const char *help, int argc, char **argv,
             const ctl_flag_t *flags, int min_pos, int max_pos, char **pos, int *npos);

/* The usual tail of a command's argument parsing: map CTL_HELP to exit 0. */
#define CTL_ARGS_OR_RETURN(call)                                                                   \
    do {                                                                                           \
        int rc_ = (call);                                                                          \
        if (rc_ == CTL_HELP)                                                                       \
            return CTL_OK;                                                                         \
        if (rc_ != CTL_OK)                                                                         \
            return rc_;                                                                            \
    } while (0)

#endif
