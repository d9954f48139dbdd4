/*
 * vmc-test.h: helpers the test programs share
 */
#pragma once

#include <vmconfig/vmconfig.h>

typedef struct {
    VmcError code;
    char *fragment;
} VmcTestExpectation;

/* Beside each bad data file NAME.json, NAME.expect holds one line that
 * says what it must produce:
 *     INVALID_CONFIG networks[1].mac
 * The code is a VmcError name, the rest a fragment of the message. */
gboolean vmc_test_read_expectation(const char *path, VmcTestExpectation *out);
void vmc_test_expectation_clear(VmcTestExpectation *exp);

/* The sorted names of the files in @dir that end in @suffix. */
GPtrArray *vmc_test_list_dir(const char *dir, const char *suffix);
