#!/usr/bin/env python3
"""The exported symbols of libvmconfig and of the driver module are exactly
what the installed headers declare (and the module's one entry point), and
every symbol libvmconfig exports has a GTK-Doc comment with a Since: line
in src/conf/*.c (found next to this script).

    check-abi.py LIBVMCONFIG.so DRIVER_MODULE.so HEADER...
    check-abi.py --syms HEADER...     print the version script's symbol list

Prints TAP: one line per check, each difference named.
"""
import glob
import os
import re
import subprocess
import sys

PLUGIN_SYMBOL = "vmc_driver_plugin_get_ops"
CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src", "conf")


def declared(headers):
    names = set()
    for path in headers:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)   # comments
        text = re.sub(r"//[^\n]*", " ", text)
        text = re.sub(r'"(\\.|[^"\\])*"', '""', text)         # strings
        text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)     # preprocessor lines
        for m in re.finditer(r"\b(vmc_[a-z0-9_]+)\s*\(", text):
            names.add(m.group(1))
    return names


def exported(lib):
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] in "TDRBVW":
            names.add(parts[2].split("@")[0])
    return names


def documented(sources):
    """The symbols with a doc comment that has a Since: line: a block that
    opens with a line "/**", then " * SYMBOL:", and has a " * Since: " line
    before its end (as GTK-Doc reads them, also above a macro use)."""
    names = set()
    for path in sources:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for m in re.finditer(r"^/\*\*\n \* ([A-Za-z0-9_]+):\n(.*?)\*/", text, flags=re.S | re.M):
            if re.search(r"^ \* Since: ", m.group(2), flags=re.M):
                names.add(m.group(1))
    return names


def main(argv):
    if argv[1] == "--syms":
        print("\n".join(sorted(declared(argv[2:]))))
        return 0
    lib, module, headers = argv[1], argv[2], argv[3:]
    want = declared(headers)
    lib_syms = exported(lib)
    sources = sorted(glob.glob(os.path.join(CONF_DIR, "*.c")))
    # Each check: what it says, the symbols it covers, and its findings.
    checks = []
    for what, got, expected in [
        ("libvmconfig exports what the headers declare", lib_syms, want),
        ("the driver module exports only " + PLUGIN_SYMBOL, exported(module), {PLUGIN_SYMBOL}),
    ]:
        checks.append((what, got,
                       ["exported but not declared: %s" % n for n in sorted(got - expected)] +
                       ["declared but not exported: %s" % n for n in sorted(expected - got)]))
    if sources:
        docs = documented(sources)
        findings = ["no doc comment with Since: %s" % n for n in sorted(lib_syms - docs)]
    else:
        findings = ["no source files in %s" % os.path.normpath(CONF_DIR)]
    checks.append(("every exported symbol has a doc comment with Since:", lib_syms, findings))
    print("1..%d" % len(checks))
    failed = 0
    for i, (what, got, findings) in enumerate(checks, 1):
        if findings:
            failed += 1
            print("not ok %d %s" % (i, what))
            for line in findings:
                print("# " + line)
        else:
            print("ok %d %s (%d symbols)" % (i, what, len(got)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
