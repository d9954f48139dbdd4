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

/* C14N form of @xml, so that formatting and attribute order do not count. */
char *vmc_test_canonical_xml(const char *xml);

/* The text of a test data file under tests/data/, or NULL if absent. */
char *vmc_test_read_data(const char *first, ...) G_GNUC_NULL_TERMINATED;

/* Golden VM configs in tests/data/xml/in/: "@DATA@" in a path stands for
 * tests/data/xml, so that disk fixtures can be read wherever the tree is. */
char *vmc_test_xml_data_dir(void);
VmcConfig *vmc_test_load_golden(const char *name);
VmcRenderOptions *vmc_test_golden_options(const char *name);
GPtrArray *vmc_test_golden_names(void);

/* True when goldens should be rewritten instead of compared. */
gboolean vmc_test_regenerate(void);

void vmc_test_rm_rf(const char *path);

/* A file of the test guest (tests/guest/build-guest.sh), in $VMC_GUEST_DIR
 * or /var/tmp/virt-vmconfig-guest; a missing one fails the test. */
char *vmc_test_guest_file(const char *name);

/* What a finished command printed and how it ended. */
typedef struct {
    int status;
    char *out;
    char *err;
} VmcTestRun;

void vmc_test_run_clear(VmcTestRun *run);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(VmcTestRun, vmc_test_run_clear)
