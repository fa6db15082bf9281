/* Why an instance is down (why.c). */
#ifndef ARTEMISCTL_WHY_H
#define ARTEMISCTL_WHY_H

#include "ctl.h"

/* reasons: a new array of {scope, operation, operatorId, reason} ("scope" is instance,
 * server, zone or "group NAME"). groups: the service's groups (get-groups.json), may be
 * NULL. CTL_OK or CTL_FAIL (message printed). */
int ctl_why_down(ctl_t *c, const json_t *inst, const json_t *groups, json_t **reasons);
/* "instance op pullout by alice (bad disk); server op ..." into buf. */
const char *ctl_why_text(const json_t *reasons, char *buf, size_t n);

#endif
