#!/usr/bin/python3
"""codecheck.py: the build-time safety checks that `make check` runs.

Fails (exit 1) and names file:line when:
  - SQL reaches SQLite other than as a string literal through db.c: a call
    to db_prepare()/db_exec() whose SQL argument is not a literal, a direct
    call to db_prepare_()/db_exec_() outside db.c (it skips the macro that
    forces a literal), or any sqlite3_prepare*/sqlite3_exec/sqlite3_*printf
    outside db.c;
  - a template prints raw output without a stated reason: a "{{& name}}"
    tag without "// reason", or a triple mustache "{{{name}}}";
  - C code builds HTML by hand outside the escaping helpers (a string
    literal starting with "<" passed to buf_puts/buf_printf outside view.c).

Run from the source tree's root: /usr/bin/python3 tools/codecheck.py
"""
import glob
import re
import sys

problems = []


def report(path, line, message):
    problems.append(f"{path}:{line}: {message}")


def strip_comments(text):
    """Blanks C comments but keeps line numbers and string literals."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"' or c == "'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def call_arguments(text, open_paren):
    """Returns the argument texts of the call whose '(' is at open_paren."""
    depth, args, start, i = 0, [], open_paren + 1, open_paren
    while i < len(text):
        c = text[i]
        if c == '"':
            j = i + 1
            while j < len(text) and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            i = j
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                args.append(text[start:i])
                return args
        elif c == "," and depth == 1:
            args.append(text[start:i])
            start = i + 1
        i += 1
    return args


LITERAL = re.compile(r'^\s*("([^"\\]|\\.)*"\s*)+$')
FORBIDDEN = re.compile(r"\b(sqlite3_prepare\w*|sqlite3_exec|sqlite3_\w*printf)\s*\(")
DB_CALL = re.compile(r"\b(db_prepare|db_exec)(_?)\s*\(")
HTML_BY_HAND = re.compile(r'\bbuf_(puts|printf|append)\s*\([^,]+,\s*"\s*<')


def check_c(path):
    text = strip_comments(open(path, encoding="utf-8").read())
    in_db = path.endswith("src/db.c") or path.endswith("src/db.h")
    for m in DB_CALL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group(2) == "_":
            if not in_db:
                report(path, line, f"call {m.group(1)}() (the macro), not {m.group(1)}_()")
            continue
        if text[max(0, m.start() - 8):m.start()].strip().endswith("define"):
            continue
        args = call_arguments(text, m.end() - 1)
        if len(args) < 2 or not LITERAL.match(args[1]):
            report(path, line, f"{m.group(1)}() needs a string literal as its SQL")
    if not in_db:
        for m in FORBIDDEN.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, f"{m.group(1)} outside db.c: go through db_prepare()")
    if not path.endswith("src/view.c"):
        for m in HTML_BY_HAND.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, "HTML built by hand: render it through a template")


TAG = re.compile(r"\{\{(\{?)(.*?)\}\}", re.S)


def check_template(path):
    text = open(path, encoding="utf-8").read()
    for m in TAG.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group(1) == "{":
            report(path, line, "triple mustache: raw output must be {{& name // reason}}")
            continue
        body = m.group(2).strip()
        if body.startswith("&"):
            reason = body.split("//", 1)[1].strip() if "//" in body else ""
            if len(reason) < 3:
                report(path, line, "raw output {{& ...}} without a '// reason'")


def main():
    for path in sorted(glob.glob("src/*.c") + glob.glob("src/*.h")):
        check_c(path)
    for path in sorted(glob.glob("templates/**/*.html", recursive=True)):
        check_template(path)
    for p in problems:
        print(p)
    if problems:
        print(f"codecheck: {len(problems)} problem(s)")
        return 1
    print("codecheck: SQL literals and raw template output ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
