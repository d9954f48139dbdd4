/*
 * cli.h: what the virt-vmconfig commands share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <json-glib/json-glib.h>
#include <vmconfig/vmconfig.h>

/* Exit status, as documented in --help and README.md. */
enum {
    VMC_EXIT_OK = 0,
    VMC_EXIT_FAILED = 1,
    VMC_EXIT_USAGE = 2,
    VMC_EXIT_INVALID_CONFIG = 3,
    VMC_EXIT_NOT_FOUND = 4,
    VMC_EXIT_HYPERVISOR = 5,
};

typedef struct {
    const char *uri;     /* -c/--connect, or NULL */
    const char *accel;   /* --accel, or NULL */
} VmcCliGlobals;

typedef struct _VmcCliCommand VmcCliCommand;

/* A command parses its own arguments (argv[0] is the command's name) and
 * returns an exit status; it prints its own output and errors. */
typedef int (*VmcCliHandler)(const VmcCliCommand *cmd, const VmcCliGlobals *globals,
                             int argc, char **argv);

struct _VmcCliCommand {
    const char *name;
    const char *args;      /* e.g. "FILE..." */
    const char *summary;   /* one line for the command list */
    const char *description;
    VmcCliHandler handler;
};

/* The "version" of every JSON document the commands print: it changes
 * only when a member changes meaning or goes away (new members may come). */
#define VMC_CLI_JSON_VERSION 1

int vmc_cli_exit_code(const GError *error);
/* Reports @error (on stderr: a line, or with --json one JSON object) and
 * returns the exit status for it; _about puts "@what: " before the message. */
int vmc_cli_fail(const GError *error);
int vmc_cli_fail_about(const char *what, const GError *error);
/* TRUE when the command line has --json. */
gboolean vmc_cli_json_mode(void);
/* Begins a JSON document's object, with its "version" member. */
void vmc_cli_json_begin(JsonBuilder *b);
/* Prints what @b built as one JSON document and a newline. */
void vmc_cli_print_json(JsonBuilder *b, gboolean pretty);
const char *vmc_cli_error_code_name(const GError *error);
/* {"version", "config", "warnings"}: what import and export print. */
void vmc_cli_print_config_json(const VmcConfig *cfg, char **warnings);
void vmc_cli_add_error_members(JsonBuilder *b, const char *code, const char *message,
                               const GError *error);
int vmc_cli_usage(const VmcCliCommand *cmd, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
GOptionContext *vmc_cli_option_context(const VmcCliCommand *cmd, const GOptionEntry *entries);
gboolean vmc_cli_parse(const VmcCliCommand *cmd, GOptionContext *ctx, int *argc, char ***argv,
                       int *exit_code);

/* cli-vm.c: what the commands on VMs share. */

/* How long --wait-ready and wait give a guest when no time is named. */
#define VMC_CLI_DEFAULT_READY_SECS 120

/* The driver for -c, with --accel applied; libvirt's own error printing
 * off (this process reports each error once). */
VmcDriver *vmc_cli_open(const VmcCliGlobals *globals, GError **error);
/* Parses the command's options and its one argument; FALSE with the exit
 * status in @status when that fails. */
gboolean vmc_cli_one_arg(const VmcCliCommand *cmd, const GOptionEntry *entries, int *argc,
                         char ***argv, int *status);
/* A string member, or null. */
void vmc_cli_add_nullable(JsonBuilder *b, const char *key, const char *value);
/* The members "state", "ip" and "reason" of a state. */
void vmc_cli_add_state_json(JsonBuilder *b, const VmcState *state);
/* The members of a VM object: name, namespace, foreign, uuid, state, ip,
 * reason, libvirt_state, libvirt_reason, serial_log, vsock_cid, owned_taps. */
void vmc_cli_add_vm_members(JsonBuilder *b, const VmcHandle *handle, const VmcState *state);
/* One VM as a document of its own: {"version", VM members...}. */
void vmc_cli_print_vm_json(const VmcHandle *handle, const VmcState *state);
/* A GOptionArgFunc for an optional number of seconds (1-86400) into the
 * int at @data; VMC_CLI_DEFAULT_READY_SECS without a value. */
/* Adds up's --forward specs to the config's first user NIC. */
gboolean vmc_cli_add_forwards(VmcConfig *cfg, char **specs, GError **error);
gboolean vmc_cli_parse_ready(const char *option, const char *value, gpointer data,
                             GError **error);
/* Waits for the VM's ready marker, showing how it goes on a terminal; the
 * status line is gone when this returns. */
VmcState *vmc_cli_wait_ready(VmcDriver *driver, const VmcHandle *handle, guint timeout_ms,
                             GError **error);

int vmc_cmd_validate(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_xml(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_import(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_up(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_down(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_delete(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_state(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_list(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_export(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_gc(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_adopt(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_run(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_wait(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_console(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_watch(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
int vmc_cmd_check_host(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc,
                       char **argv);
int vmc_cmd_act(const VmcCliCommand *cmd, const VmcCliGlobals *globals, int argc, char **argv);
