#!/usr/bin/python3
"""Turn a program's --help option list into roff for its man page's OPTIONS section.

Usage: PROGRAM --help | docs/man/gen_options.py > options.roff
Reads lines "  --flag=ARG" (optionally "-x, --flag") followed by more-indented description
lines ("key: NAME" becomes "Config key: NAME."); everything else is ignored. The man pages
paste the output between their '.\\" BEGIN OPTIONS' and '.\\" END OPTIONS' markers, so
`docs/man/gen_options.py --update PAGE PROGRAM` regenerates it in place."""

import re
import subprocess
import sys


def esc(s):
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + s if s.startswith((".", "'")) else s


def roff(help_text):
    out, cur = [], None
    for line in help_text.splitlines():
        k = re.match(r"^  ([a-z][\w.]*)\s{2,}default (.*?)\s{2,}(.*)$", line)
        if k:  # the sidecar's "key  default D  what" table
            cur = None
            out.append(["--" + k.group(1) + "=VALUE", [k.group(3) + ". Default: " + k.group(2) + "."]])
            continue
        m = re.match(r"^  (?:-\w, )?(--\S+)(?:\s{2,}(.*))?$", line)
        if m:
            cur = [m.group(1), []]
            out.append(cur)
            if m.group(2):
                cur[1].append(m.group(2).strip())
            continue
        if cur and re.match(r"^\s{4,}\S", line):
            cur[1].append(line.strip())
        elif not line.strip():
            cur = None
    lines = []
    for flag, desc in out:
        name, _, arg = flag.partition("=")
        lines.append(".TP")
        lines.append("\\fB%s\\fR%s" % (esc(name), "=\\fI%s\\fR" % esc(arg) if arg else ""))
        for d in desc:
            if d.startswith("key: "):
                lines.append("Config key: \\fB%s\\fR." % esc(d[5:]))
            else:
                lines.append(esc(d))
    return "\n".join(lines) + "\n"


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--update":
        page, prog = sys.argv[2], sys.argv[3]
        text = subprocess.run([prog, "--help"], capture_output=True, text=True, timeout=10).stdout
        src = open(page).read()
        begin, end = '.\\" BEGIN OPTIONS\n', '.\\" END OPTIONS\n'
        a, b = src.index(begin) + len(begin), src.index(end)
        open(page, "w").write(src[:a] + roff(text) + src[b:])
        return 0
    sys.stdout.write(roff(sys.stdin.read()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
