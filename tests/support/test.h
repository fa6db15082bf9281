/*
 * Common prelude for cmocka unit tests. cmocka 1.1.5 does not include its own
 * prerequisites, so every test includes this file first.
 */
#ifndef ARTEMIS_TEST_H
#define ARTEMIS_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include <cmocka.h>

#endif
