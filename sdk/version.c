/*
 * Runtime version of libartemis, so an application can compare the library it runs
 * against with the headers it was built with (ARTEMIS_VERSION_NUM).
 */
#include "artemis/artemis.h"
#include "artemis/version.h"

ARTEMIS_EXPORT const char *artemis_version(void)
{
    return ARTEMIS_VERSION_STRING;
}

ARTEMIS_EXPORT unsigned artemis_version_num(void)
{
    return (unsigned)ARTEMIS_VERSION_NUM;
}
