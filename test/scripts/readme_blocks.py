#!/usr/bin/env python3
"""Extract the fenced SQL blocks of the guides, in order, for readme_blocks.sh.

Usage: readme_blocks.py OUTDIR FILE.md...
Writes OUTDIR/NNN.sql per block and OUTDIR/blocks.tsv with one line per block:
number, mode, file:line.  The fence's info string says how a block is run:
  ```sql        runs, and must succeed
  ```sql error  runs, and must fail (a deliberate error shown in a guide)
  ```sql skip   not run: needs what the test cannot do in its own cluster
                (a file or a command outside the database, a restart); the
                guide says why, and a script test covers it instead
Other fences (sh, text, ...) are not SQL and are not run.
"""
import os
import re
import sys

FENCE = re.compile(r"^(\s*)(```+|~~~+)\s*([^\s`]*)\s*(.*)$")


def blocks(path):
    """Yield (line, info words, text) of each fenced block of a Markdown file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, lang, rest = m.group(2), m.group(3).lower(), m.group(4).split()
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith(fence):
            body.append(lines[i])
            i += 1
        i += 1
        yield start, [lang] + rest, "\n".join(body) + "\n"


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    n = 0
    with open(os.path.join(out, "blocks.tsv"), "w") as tsv:
        for path in sys.argv[2:]:
            for line, info, text in blocks(path):
                if info[0] != "sql":
                    continue
                mode = info[1] if len(info) > 1 else "run"
                if mode not in ("run", "error", "skip"):
                    sys.exit(f"{path}:{line}: unknown sql fence mode {mode!r}")
                n += 1
                with open(os.path.join(out, f"{n:03d}.sql"), "w") as f:
                    f.write(text)
                tsv.write(f"{n:03d}\t{mode}\t{path}:{line}\n")


if __name__ == "__main__":
    main()
