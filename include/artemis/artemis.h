/*
 * libartemis: the C SDK of Artemis in C. Umbrella header.
 * Build with: cc app.c $(pkg-config --cflags --libs artemis)
 */
#ifndef ARTEMIS_ARTEMIS_H
#define ARTEMIS_ARTEMIS_H

#include "artemis/version.h"
#include "artemis/export.h"
#include "artemis/error.h"
#include "artemis/config.h"
#include "artemis/service.h"
#include "artemis/client.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Runtime version ("0.1.0") and number (ARTEMIS_VERSION_NUM). MT-safe. */
ARTEMIS_EXPORT const char *artemis_version(void);
ARTEMIS_EXPORT unsigned artemis_version_num(void);

#ifdef __cplusplus
}
#endif

#endif
