#!/usr/bin/env python3
"""The libvirt driver in strata (DESIGN.md §2), and the core free of it.

    check-strata.py SRC_DIR

SRC_DIR is the tree's src/. Every file of src/libvirt belongs to one
stratum below; a file includes (and so calls) headers of its own stratum
and of those below only, so a call up does not compile. The core's
headers (src/conf) lie below them all. The checks, as TAP:

  1. every file of src/libvirt has its stratum here (a new one is placed);
  2. no #include of a src/libvirt file points up: each is named with both
     strata;
  3. no file of src/conf includes a header of src/libvirt or of libvirt;
  4. no files of src/libvirt call each other in a circle (a file calls
     another when it names a function that the other defines and does not
     make static); a circle is named file by file.
"""
import os
import re
import sys

STRATA = [
    ("plumbing", [
        "vmc-libvirt-private.h", "vmc-host-private.h", "vmc-serial-private.h",
        "vmc-netns-private.h",
        "vmc-libvirt-error.c", "vmc-events.c", "vmc-lv-state.c", "vmc-serial.c",
        "vmc-netns.c", "vmc-host-probe.c",
    ]),
    ("connection", [
        "vmc-lv-connection.h",
        "vmc-lv-hub.c", "vmc-lv-open.c", "vmc-lv-lock.c",
    ]),
    ("reading", [
        "vmc-lv-reading.h",
        "vmc-lv-domain.c",
    ]),
    ("resources", [
        "vmc-lv-resources.h",
        "vmc-lv-hostres.c", "vmc-lv-follow.c", "vmc-lv-watch.c", "vmc-lv-console.c",
    ]),
    ("operations", [
        "vmc-lv-operations.h",
        "vmc-lv-preflight.c", "vmc-lv-control.c", "vmc-lv-boot.c", "vmc-lv-wait.c",
        "vmc-lv-list.c", "vmc-lv-stage.c", "vmc-lv-adopt.c", "vmc-host-check.c",
    ]),
    ("plugin", [
        "vmc-lv-plugin.c",
    ]),
]

LEVEL = {name: level for level, (_, files) in enumerate(STRATA) for name in files}
STRATUM = {level: name for level, (name, _) in enumerate(STRATA)}
INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)


def sources(directory, suffixes):
    return sorted(f for f in os.listdir(directory) if f.endswith(suffixes))


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def without_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def check_placed(lv_dir):
    return ["%s has no stratum in tests/check-strata.py" % f
            for f in sources(lv_dir, (".c", ".h")) if f not in LEVEL]


def check_includes(lv_dir):
    bad = []
    for f in sources(lv_dir, (".c", ".h")):
        if f not in LEVEL:
            continue
        for kind, header in INCLUDE.findall(read(os.path.join(lv_dir, f))):
            if kind == '"' and header in LEVEL and LEVEL[header] > LEVEL[f]:
                bad.append("%s (%s) includes %s (%s), a stratum above it" %
                           (f, STRATUM[LEVEL[f]], header, STRATUM[LEVEL[header]]))
    return bad


def check_core(conf_dir, lv_dir):
    bad = []
    lv_files = set(os.listdir(lv_dir))
    for f in sources(conf_dir, (".c", ".h")):
        for kind, header in INCLUDE.findall(read(os.path.join(conf_dir, f))):
            if (kind == '"' and header in lv_files) or header.startswith("libvirt/"):
                bad.append("src/conf/%s includes %s" % (f, header))
    return bad


def calls(lv_dir):
    files = sources(lv_dir, (".c",))
    texts = {f: without_comments(read(os.path.join(lv_dir, f))) for f in files}
    defined = {}
    for f, text in texts.items():
        for m in re.finditer(r"^(?!static\b)[A-Za-z_][\w \*]*\n(\w+)\(", text, re.M):
            defined[m.group(1)] = f
    graph = {f: set() for f in files}
    for f, text in texts.items():
        for name in set(re.findall(r"\b(\w+)\s*\(", text)):
            other = defined.get(name)
            if other and other != f:
                graph[f].add(other)
    return graph


def circles(graph):
    """The strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def check_circles(lv_dir):
    graph = calls(lv_dir)
    bad = []
    for component in circles(graph):
        edges = ["%s -> %s" % (a, b) for a in component for b in sorted(graph[a])
                 if b in component]
        bad.append("%d files call each other in a circle: %s" %
                   (len(component), "; ".join(edges)))
    return bad


def main(argv):
    src = argv[1]
    lv_dir, conf_dir = os.path.join(src, "libvirt"), os.path.join(src, "conf")
    checks = [
        ("every file of src/libvirt has a stratum", check_placed(lv_dir)),
        ("no include in src/libvirt points up a stratum", check_includes(lv_dir)),
        ("src/conf includes nothing of src/libvirt or libvirt", check_core(conf_dir, lv_dir)),
        ("no files of src/libvirt call each other in a circle", check_circles(lv_dir)),
    ]
    print("1..%d" % len(checks))
    failed = 0
    for i, (what, bad) in enumerate(checks, 1):
        if bad:
            failed += 1
            print("not ok %d %s" % (i, what))
            for line in bad:
                print("# %s" % line)
                print(line, file=sys.stderr)
        else:
            print("ok %d %s" % (i, what))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
