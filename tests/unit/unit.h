/* unit.h: what every C unit test includes (cmocka). Each tests/unit/test_X.c
 * is one program testing one module of core/; tests/run.sh runs them all. */
#ifndef CAPLAB_UNIT_H
#define CAPLAB_UNIT_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#endif
