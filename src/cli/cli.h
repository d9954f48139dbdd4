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
