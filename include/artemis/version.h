/*
 * Version of Artemis in C: the single source of truth for the product and ABI versions.
 * The Makefile reads the three numbers below with awk.
 */
#ifndef ARTEMIS_VERSION_H
#define ARTEMIS_VERSION_H

#define ARTEMIS_VERSION_MAJOR  0
#define ARTEMIS_VERSION_MINOR  1
#define ARTEMIS_VERSION_PATCH  0
#define ARTEMIS_VERSION_STRING "0.1.0"
#define ARTEMIS_ABI_VERSION    1

#define ARTEMIS_VERSION_NUM                                                                        \
    ((ARTEMIS_VERSION_MAJOR << 16) | (ARTEMIS_VERSION_MINOR << 8) | ARTEMIS_VERSION_PATCH)
#define ARTEMIS_VERSION_AT_LEAST(x, y, z) (ARTEMIS_VERSION_NUM >= (((x) << 16) | ((y) << 8) | (z)))

/* The Artemis (Java) release whose wire protocol this implementation speaks. */
#define ARTEMIS_COMPAT_VERSION "1.5.16"

#endif
