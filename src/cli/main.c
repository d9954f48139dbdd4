/*
 * main.c: virt-vmconfig's command table and main()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "cli.h"
#include "vmc-quote-private.h"

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static const VmcCliCommand vmc_commands[] = {
    { "validate", "FILE...", "check VM config files",
      "Reads each JSON VM config and checks it against every rule that holds on any host.\n"
      "Prints 'FILE: ok' for a good file and 'FILE: <what is wrong>' on stderr for a bad one.\n"
      "Files are not looked for on this host: a config may be meant for another one.",
      vmc_cmd_validate },
    { "xml", "FILE", "print the libvirt domain XML of a VM config",
      "Validates the config and prints the domain XML that 'up' would define.\n"
      "Disk formats (raw or qcow2) are read from the image files; with --remote-paths\n"
      "the files are taken to be on another host and disks are rendered as raw.\n"
      "--accel (before the command) picks kvm or qemu (TCG); without it, kvm when a probe\n"
      "vCPU really runs on this host (see check-host), else qemu.",
      vmc_cmd_xml },
    { "import", "XMLFILE", "print the VM config of a libvirt domain XML file",
      "Reads a domain XML file (for instance from 'virsh dumpxml') and prints the closest\n"
      "VM config as JSON. What the config cannot hold is listed on stderr as warnings.",
      vmc_cmd_import },
    { "up", "FILE", "boot a VM from its config",
      "Checks the config and its files, defines the VM in libvirt and starts it.\n"
      "With --wait-ready it then waits for the guest's 'VMRS_READY <ip>' line on its serial console,\n"
      "showing on stderr, when that is a terminal, how long it has waited and how much console\n"
      "output it has seen.\n"
      "Booting a stopped VM again redefines and starts it; a running VM is refused.\n"
      "With --stage (for a remote host) kernel, initramfs, seed ISO and disks are first copied\n"
      "from this host through libvirt's storage API into a pool of virt-vmconfig's there: files\n"
      "by content (an unchanged file is copied once, VMs share it), disks as the VM's own copy\n"
      "(copied once; the guest's writes stay). 'gc' removes copies no domain uses.",
      vmc_cmd_up },
    { "run", "FILE", "boot a VM and show its console until it stops",
      "Runs the VM as a supervised task (for Nomad, systemd and the like): boots it, copies its\n"
      "serial console to stdout (or --console-log FILE) as it grows, and exits when it stops.\n"
      "SIGTERM or SIGINT (Ctrl-C) presses the ACPI power button; a guest that is not off within\n"
      "--stop-timeout seconds (default 10) is killed; a second signal kills it at once.\n"
      "Exit status 0 when the guest powered off by itself or on the button in time; 1 when it\n"
      "crashed, failed to boot, or had to be killed, with the reason on stderr. The VM is\n"
      "removed when it stops, unless --keep.",
      vmc_cmd_run },
    { "wait", "NAME", "wait until a VM is ready",
      "Waits until the guest prints 'VMRS_READY <ip>' on its serial console in this boot (at once if\n"
      "it already has), then prints \"VM 'NAME' is ready at IP\". Fails (status 1) when the VM stops\n"
      "first or --timeout passes (default 120 s). When stderr is a terminal, a status line there\n"
      "shows how long it has waited and how much console output it has seen.",
      vmc_cmd_wait },
    { "console", "NAME", "attach to a running VM's serial console",
      "On a terminal, connects it to the VM's serial console, both ways, as 'virsh console'\n"
      "does: what is typed goes to the guest, what the guest prints is shown; Ctrl-] leaves\n"
      "(status 0), the VM runs on. One client holds a console at a time: --force takes it over\n"
      "from another one. With --follow, --json, or when stdin or stdout is no terminal, only\n"
      "shows the output, until the VM stops or Ctrl-C. With --since-boot (a local host only) it\n"
      "first prints what the VM printed since it booted. When the console ends, exits 0 if the\n"
      "VM stopped, else 1. A VM that is not running is refused (status 1).",
      vmc_cmd_console },
    { "down", "NAME", "stop a VM gracefully",
      "Presses the VM's ACPI power button and waits for it to power off; past --timeout it is\n"
      "forced off and the command fails (status 1). Stopping a stopped VM succeeds.",
      vmc_cmd_down },
    { "kill", "NAME", "force a VM off",
      "Forces the VM off at once, like pulling the plug. Killing a stopped VM succeeds.",
      vmc_cmd_act },
    { "pause", "NAME", "suspend a VM's vCPUs", "Suspends the VM's vCPUs; its memory stays.",
      vmc_cmd_act },
    { "resume", "NAME", "resume a paused VM", "Resumes the vCPUs of a paused VM.", vmc_cmd_act },
    { "state", "NAME", "print a VM's state",
      "Prints the VM's state: starting, running, ready (IP), paused, stopped or failed: reason.",
      vmc_cmd_state },
    { "list", "", "list the VMs of virt-vmconfig",
      "Lists the VMs that virt-vmconfig made on this libvirt host, or with --all every domain,\n"
      "the others marked '(foreign)' (in JSON: \"foreign\": true). No command but 'adopt'\n"
      "changes a foreign domain.",
      vmc_cmd_list },
    { "export", "NAME", "print the VM config of one of our VMs",
      "Reads the VM's persistent definition back and prints its VM config as JSON: 'up' of that\n"
      "file defines the same domain. What the config cannot hold is listed on stderr.",
      vmc_cmd_export },
    { "gc", "", "remove staged files that no domain uses",
      "Removes the files that 'up --stage' copied to the libvirt host and that no domain there\n"
      "(ours or another tool's, running or defined) uses any more; prints each one removed.",
      vmc_cmd_gc },
    { "adopt", "DOMAIN", "make a domain that another tool defined one of ours",
      "Reads the domain's definition back into a VM config and lists on stderr what the config\n"
      "cannot hold. When that is nothing (or with --force) it adds virt-vmconfig's metadata,\n"
      "with --namespace NS, and changes nothing else: from then on every command manages it,\n"
      "and 'export' gives its config. Refused, with nothing changed, when something would be\n"
      "lost and --force is not given (status 3).",
      vmc_cmd_adopt },
    { "watch", "", "print VM state changes as they happen",
      "Prints one line per state change of the VMs of virt-vmconfig (with --namespace, of that\n"
      "namespace only): 'NAME STATE', then the IP when ready or ': reason' when failed, and\n"
      "libvirt's event in brackets, e.g. 'web-1 stopped [stopped/shutdown]'. With --json, each line\n"
      "is a JSON object with name, uuid, state, ip, reason, libvirt_event and libvirt_detail.\n"
      "Runs until Ctrl-C or SIGTERM (status 0).",
      vmc_cmd_watch },
    { "delete", "NAME", "stop a VM if it runs and remove it",
      "Stops the VM if it runs (ACPI first, then by force) and removes its definition.\n"
      "Serial log, disks and shares are never touched; the NVRAM file of a UEFI VM is kept\n"
      "unless --remove-nvram is given.",
      vmc_cmd_delete },
    { "check-host", "", "tell what this host can run",
      "Checks what virt-vmconfig needs of the host behind -c (or the one it would pick):\n"
      "libvirt reachable and its version, a QEMU binary, KVM (device, access by QEMU's user,\n"
      "and whether a probe vCPU really runs), libvirt's capabilities cache, virtiofsd,\n"
      "/dev/vhost-vsock, UEFI firmware, virtiofs read-only support, dnsmasq for libvirt\n"
      "networks and, under qemu:///system, whether QEMU's user can enter the usual image\n"
      "directories. One line per check: pass, warn or fail, what was found and what to do.\n"
      "Exits 0 when the host can boot VMs (warnings allowed), 1 when it cannot.",
      vmc_cmd_check_host },
};

static const char *vmc_exit_help =
    "Exit status:\n"
    "  0  success\n"
    "  1  the operation failed\n"
    "  2  usage error (unknown command or option, missing argument)\n"
    "  3  invalid VM config\n"
    "  4  VM not found\n"
    "  5  hypervisor or connection error\n";

int
vmc_cli_exit_code(const GError *error)
{
    if (!error || error->domain != VMC_ERROR)
        return VMC_EXIT_FAILED;
    switch ((VmcError) error->code) {
    case VMC_ERROR_INVALID_CONFIG:
        return VMC_EXIT_INVALID_CONFIG;
    case VMC_ERROR_NOT_FOUND:
        return VMC_EXIT_NOT_FOUND;
    case VMC_ERROR_HYPERVISOR:
        return VMC_EXIT_HYPERVISOR;
    default:
        return VMC_EXIT_FAILED;
    }
}

/* Set once by main(), before a command runs. */
static gboolean vmc_cli_json;

gboolean
vmc_cli_json_mode(void)
{
    return vmc_cli_json;
}

void
vmc_cli_json_begin(JsonBuilder *b)
{
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, VMC_CLI_JSON_VERSION);
}

static char *
vmc_cli_json_text(JsonBuilder *b, gboolean pretty)
{
    g_autoptr(JsonGenerator) gen = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);

    json_generator_set_root(gen, root);
    json_generator_set_pretty(gen, pretty);
    return json_generator_to_data(gen, NULL);
}

void
vmc_cli_print_json(JsonBuilder *b, gboolean pretty)
{
    g_autofree char *text = vmc_cli_json_text(b, pretty);

    g_print("%s\n", text);
}

/* The members "code", "message", "libvirt_code" and "libvirt_domain" of
 * an error; @code is the VmError name, or USAGE for a usage error. */
void
vmc_cli_add_error_members(JsonBuilder *b, const char *code, const char *message,
                          const GError *error)
{
    int libvirt_code = vmc_error_get_libvirt_code(error);

    json_builder_set_member_name(b, "code");
    json_builder_add_string_value(b, code);
    json_builder_set_member_name(b, "message");
    json_builder_add_string_value(b, message);
    json_builder_set_member_name(b, "libvirt_code");
    if (libvirt_code)
        json_builder_add_int_value(b, libvirt_code);
    else
        json_builder_add_null_value(b);
    json_builder_set_member_name(b, "libvirt_domain");
    if (libvirt_code)
        json_builder_add_int_value(b, vmc_error_get_libvirt_domain(error));
    else
        json_builder_add_null_value(b);
}

const char *
vmc_cli_error_code_name(const GError *error)
{
    if (error->domain == VMC_ERROR)
        return vmc_error_code_to_string((VmcError) error->code);
    /* Only the library's errors reach here; anything else was file work. */
    return vmc_error_code_to_string(VMC_ERROR_IO);
}

/* One line on stderr: the JSON error object. */
static void
vmc_cli_print_json_error(const char *code, const char *message, const GError *error)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    g_autofree char *text = NULL;

    vmc_cli_json_begin(b);
    json_builder_set_member_name(b, "error");
    json_builder_begin_object(b);
    vmc_cli_add_error_members(b, code, message, error);
    json_builder_end_object(b);
    json_builder_end_object(b);
    text = vmc_cli_json_text(b, FALSE);
    g_printerr("%s\n", text);
}

int
vmc_cli_fail_about(const char *what, const GError *error)
{
    g_autofree char *message = NULL;

    message = what ? g_strdup_printf("%s: %s", what, error->message) : g_strdup(error->message);
    if (vmc_cli_json) {
        vmc_cli_print_json_error(vmc_cli_error_code_name(error), message, error);
    } else {
        g_autofree char *shown = vmc_escape_text(message);

        g_printerr("%s%s\n", what ? "" : "virt-vmconfig: ", shown);
    }
    return vmc_cli_exit_code(error);
}

int
vmc_cli_fail(const GError *error)
{
    return vmc_cli_fail_about(NULL, error);
}

int
vmc_cli_usage(const VmcCliCommand *cmd, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list args;

    va_start(args, fmt);
    msg = g_strdup_vprintf(fmt, args);
    va_end(args);
    if (vmc_cli_json)
        vmc_cli_print_json_error("USAGE", msg, NULL);
    else if (cmd)
        g_printerr("virt-vmconfig %s: %s\nTry 'virt-vmconfig %s --help'.\n", cmd->name, msg,
                   cmd->name);
    else
        g_printerr("virt-vmconfig: %s\nTry 'virt-vmconfig --help'.\n", msg);
    return VMC_EXIT_USAGE;
}

GOptionContext *
vmc_cli_option_context(const VmcCliCommand *cmd, const GOptionEntry *entries)
{
    g_autofree char *param = g_strdup_printf("%s %s", cmd->name, cmd->args);
    GOptionContext *ctx = g_option_context_new(param);

    g_option_context_set_summary(ctx, cmd->description);
    g_option_context_set_description(ctx, vmc_exit_help);
    if (entries)
        g_option_context_add_main_entries(ctx, entries, NULL);
    return ctx;
}

gboolean
vmc_cli_parse(const VmcCliCommand *cmd, GOptionContext *ctx, int *argc, char ***argv,
              int *exit_code)
{
    g_autoptr(GError) error = NULL;

    if (!g_option_context_parse(ctx, argc, argv, &error)) {
        *exit_code = vmc_cli_usage(cmd, "%s", error->message);
        return FALSE;
    }
    return TRUE;
}

static char *
vmc_commands_help(void)
{
    GString *out = g_string_new("Commands:\n");

    for (gsize i = 0; i < G_N_ELEMENTS(vmc_commands); i++) {
        g_autofree char *left = g_strdup_printf("%s %s", vmc_commands[i].name, vmc_commands[i].args);
        g_string_append_printf(out, "  %-28s %s\n", left, vmc_commands[i].summary);
    }
    g_string_append(out, "\n'virt-vmconfig COMMAND --help' tells more about a command.\n\n");
    g_string_append(out, vmc_exit_help);
    return g_string_free(out, FALSE);
}

static void
vmc_print_help(GOptionContext *ctx)
{
    g_autofree char *help = g_option_context_get_help(ctx, TRUE, NULL);

    fputs(help, stdout);
}

/* The library's messages (what a release removed after an interrupted
 * boot, say) as lines of this program's own. */
static void
vmc_cli_on_message(const char *domain, GLogLevelFlags level, const char *message,
                   gpointer data)
{
    g_printerr("virt-vmconfig: %s\n", message);
}

int
main(int argc, char **argv)
{
    gboolean version = FALSE;
    gboolean help = FALSE;
    g_autofree char *uri = NULL;
    g_autofree char *accel = NULL;
    const GOptionEntry entries[] = {
        { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
          "libvirt connection URI (default: $LIBVIRT_DEFAULT_URI, the local daemon, "
          "or an embedded QEMU driver)", "URI" },
        { "accel", 0, 0, G_OPTION_ARG_STRING, &accel,
          "accelerator: kvm or qemu (TCG); default: kvm when the host offers it and a probe vCPU "
          "really runs", "ACCEL" },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "print the version and exit", NULL },
        { "help", 'h', 0, G_OPTION_ARG_NONE, &help, "show this help", NULL },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx = g_option_context_new("COMMAND [ARGS...]");
    g_autoptr(GError) error = NULL;
    g_autofree char *commands_help = vmc_commands_help();
    VmcCliGlobals globals;

    setlocale(LC_ALL, "");
    g_set_prgname("virt-vmconfig");
    /* libvirt writes to its sockets with write(2): a daemon that goes away
     * mid-call (killed, restarted) would kill this process with SIGPIPE
     * before the boot could undo what it did. As virsh does, the
     * application ignores it; the library never touches signals. */
    signal(SIGPIPE, SIG_IGN);
    /* libvirt's own log lines (the embedded driver writes some while it
     * starts) would repeat on stderr what our messages say; unless the
     * user set up libvirt's logging, this process sends them nowhere. The
     * library changes no environment: this is the application's choice. */
    if (!g_getenv("LIBVIRT_LOG_OUTPUTS"))
        g_setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", FALSE);
    g_log_set_handler(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, vmc_cli_on_message, NULL);

    g_option_context_set_summary(ctx,
                                 "Render portable VM configs as libvirt domains and run them.");
    g_option_context_set_description(ctx, commands_help);
    g_option_context_add_main_entries(ctx, entries, NULL);
    g_option_context_set_strict_posix(ctx, TRUE);
    g_option_context_set_help_enabled(ctx, FALSE);

    /* Asked for JSON, the user gets errors as JSON too, even the ones
     * found while the options are parsed. */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "--json") == 0)
            vmc_cli_json = TRUE;
    }

    /* --help is ours, so that it lists the commands. */
    if (!g_option_context_parse(ctx, &argc, &argv, &error))
        return vmc_cli_usage(NULL, "%s", error->message);
    if (help) {
        vmc_print_help(ctx);
        return VMC_EXIT_OK;
    }
    if (version) {
        g_print("virt-vmconfig %s\n", VMC_VERSION);
        return VMC_EXIT_OK;
    }
    if (argc < 2) {
        vmc_print_help(ctx);
        return VMC_EXIT_USAGE;
    }
    if (strcmp(argv[1], "help") == 0) {
        vmc_print_help(ctx);
        return VMC_EXIT_OK;
    }
    if (accel && !vmc_accel_from_string(accel, &(VmcAccel) { 0 }))
        return vmc_cli_usage(NULL, "--accel must be 'kvm' or 'qemu', not '%s'", accel);

    globals.uri = uri;
    globals.accel = accel;

    for (gsize i = 0; i < G_N_ELEMENTS(vmc_commands); i++) {
        if (strcmp(argv[1], vmc_commands[i].name) == 0)
            return vmc_commands[i].handler(&vmc_commands[i], &globals, argc - 1, argv + 1);
    }
    return vmc_cli_usage(NULL, "unknown command '%s'", argv[1]);
}
