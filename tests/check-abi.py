#!/usr/bin/env python3
"""The exported symbols of libvmconfig and of the driver module are exactly
what the installed headers declare (and the module's one entry point).

    check-abi.py LIBVMCONFIG.so DRIVER_MODULE.so HEADER...
    check-abi.py --syms HEADER...     print the version script's symbol list

Prints TAP: one line per check, each difference named.
"""
import re
import subprocess
import sys

PLUGIN_SYMBOL = "vmc_driver_plugin_get_ops"


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


def main(argv):
    if argv[1] == "--syms":
        print("\n".join(sorted(declared(argv[2:]))))
        return 0
    lib, module, headers = argv[1], argv[2], argv[3:]
    want = declared(headers)
    checks = [
        ("libvmconfig exports what the headers declare", exported(lib), want),
        ("the driver module exports only " + PLUGIN_SYMBOL, exported(module), {PLUGIN_SYMBOL}),
    ]
    print("1..%d" % len(checks))
    failed = 0
    for i, (what, got, expected) in enumerate(checks, 1):
        extra, missing = sorted(got - expected), sorted(expected - got)
        if extra or missing:
            failed += 1
            print("not ok %d %s" % (i, what))
            for name in extra:
                print("# exported but not declared: %s" % name)
            for name in missing:
                print("# declared but not exported: %s" % name)
        else:
            print("ok %d %s (%d symbols)" % (i, what, len(got)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
