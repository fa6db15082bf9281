/* Symbol visibility: libartemis is built with -fvisibility=hidden; public functions are
 * marked ARTEMIS_EXPORT. */
#ifndef ARTEMIS_EXPORT_H
#define ARTEMIS_EXPORT_H

#if defined(ARTEMIS_BUILDING) && defined(__GNUC__)
#define ARTEMIS_EXPORT __attribute__((visibility("default")))
#else
#define ARTEMIS_EXPORT
#endif

#endif
