#!/usr/bin/python3
"""codecheck.py: the build-time safety checks that `make check` runs.

Fails (exit 1) and names file:line when:
  - SQL reaches SQLite other than as a string literal through db.c: a call
    to db_prepare()/db_exec() whose SQL argument is not made of literals
    and of the fragments that src/svc/visibility.h defines as literals
    (macros named *_SQL, such as VISIBILITY_SQL), a direct
    call to db_prepare_()/db_exec_() outside the storage floor's db.c and
    engines (it skips the macro that forces a literal), or any
    sqlite3_prepare*/sqlite3_exec/sqlite3_*printf outside src/db/sqlite.c;
  - SQL built at run time (db_prepare_dynamic) outside src/db/copy.c and
    the engines: copying every table between engines, backups of
    PostgreSQL and restores into it need table and column names read from
    the catalogue, so copy.c alone builds SQL, quoting names that never
    come from input; everywhere else a literal keeps injection impossible
    and lets db_prepare cache each statement by the literal's address
    (dynamic statements are prepared uncached and finalized by the caller);
  - a template prints raw output without a stated reason: a "{{& name}}"
    tag without "// reason", or a triple mustache "{{{name}}}";
  - C code builds HTML by hand outside the escaping helpers (a string
    literal starting with "<" passed to buf_puts/buf_printf outside view.c);
  - a storage engine shows outside its file: any sqlite3 or SQLITE_ name
    outside src/db/sqlite.c, any libpq name (PQexec, PGresult, ...) outside
    src/db/postgres.c, in src/ or the C tests;
  - a transaction is written by hand outside src/db/ (db_begin, BEGIN,
    COMMIT, ROLLBACK, SAVEPOINT in SQL): data changes only through db_write;
  - a handler in src/feat/routes.def is not named after its file
    (letter_page lives in src/feat/letter.c), or the table is not grouped by
    file;
  - a table written by a file other than its owner: every CREATE TABLE in
    schema/ is preceded by "-- owner: src/FLOOR/FILE.c", and only that file's
    SQL may INSERT INTO, UPDATE, DELETE FROM or REPLACE INTO it (others call
    the owner's functions);
  - a file includes a header of a higher floor (src/base < db < svc < feat <
    web < main.c), or two feature files include each other, directly or in a
    circle;
  - a handler in src/feat/ reads a parameter with param_raw() without a
    comment containing "raw:" on the same line or the line above saying why
    no typed getter (svc/http.h) fits.

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


STRING_LITERAL = r'"([^"\\]|\\.)*"'
LITERAL = re.compile(r'^\s*(' + STRING_LITERAL + r'\s*)+$')
# The header whose *_SQL macros may stand among the literals: fragments
# shared by many queries (the visibility rule), literals themselves.
SQL_FRAGMENTS = "src/svc/visibility.h"
SQL_DEFINE = re.compile(r'^#define\s+(\w+_SQL)\s+((?:.*\\\n)*.*)$', re.M)


def sql_fragments():
    """The *_SQL macros of SQL_FRAGMENTS whose whole body is string literals."""
    try:
        text = strip_comments(open(SQL_FRAGMENTS, encoding="utf-8").read())
    except FileNotFoundError:
        return set()
    return {m.group(1) for m in SQL_DEFINE.finditer(text)
            if LITERAL.match(m.group(2).replace("\\\n", " "))}


def sql_argument_ok(arg, fragments):
    """A literal, or literals and known fragments pasted together."""
    if LITERAL.match(arg):
        return True
    rest = re.sub(STRING_LITERAL, " ", arg)
    names = rest.split()
    return bool(names) and all(n in fragments for n in names)


FORBIDDEN = re.compile(r"\b(sqlite3_prepare\w*|sqlite3_exec|sqlite3_\w*printf)\s*\(")
DB_CALL = re.compile(r"\b(db_prepare|db_exec)(_?)\s*\(")
ENGINE = re.compile(r"\b(sqlite3\w*|SQLITE_\w+)")
PG_ENGINE = re.compile(r"\b(PQ[a-z]\w*|PGconn|PGresult|PGRES_\w+|PG_DIAG_\w+|libpq-fe)\b")
ENGINE_FILES = ("src/db/db.c", "src/db/db.h", "src/db/sqlite.c", "src/db/postgres.c")
DYNAMIC = re.compile(r"\bdb_prepare_dynamic\s*\(")
DYNAMIC_FILES = ENGINE_FILES + ("src/db/copy.c",)
BY_HAND = re.compile(r'\bdb_(begin|commit|rollback)\s*\(|"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b')
HTML_BY_HAND = re.compile(r'\bbuf_(puts|printf|append)\s*\([^,]+,\s*"\s*<')


def check_c(path, fragments=frozenset()):
    text = strip_comments(open(path, encoding="utf-8").read())
    in_db = path.endswith(ENGINE_FILES)
    for m in DB_CALL.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        if m.group(2) == "_":
            if not in_db:
                report(path, line, f"call {m.group(1)}() (the macro), not {m.group(1)}_()")
            continue
        if text[max(0, m.start() - 8):m.start()].strip().endswith("define"):
            continue
        args = call_arguments(text, m.end() - 1)
        if len(args) < 2 or not sql_argument_ok(args[1], fragments):
            report(path, line, f"{m.group(1)}() needs a string literal as its SQL")
    if not path.endswith(DYNAMIC_FILES):
        for m in DYNAMIC.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, "SQL built at run time outside src/db/copy.c: "
                               "use db_prepare() with a literal")
    if not in_db:
        for m in FORBIDDEN.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, f"{m.group(1)} outside src/db/sqlite.c: go through db_prepare()")
    if not path.endswith("src/db/sqlite.c"):
        for m in ENGINE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, f"{m.group(0)}: the engine is src/db/sqlite.c's alone (db.h)")
    if not path.endswith("src/db/postgres.c"):
        for m in PG_ENGINE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, f"{m.group(0)}: the engine is src/db/postgres.c's alone (db.h)")
    if "/src/db/" not in "/" + path and "src/db/" not in path:
        for m in BY_HAND.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, "a transaction by hand: change data through db_write (db.h)")
    if not path.endswith("src/web/view.c"):
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
    check_raw_codes(path, text)
    check_raw_dates(path, text)


# ---- raw codes in templates (issue 14: "People's words, not codes") ----

# Template variables that hold a database code (a status, a kind, a role, a
# country's ISO code ...) unless the handler translated them. Printed as page
# text they show "response_received" or "AGO" to people; the handler passes
# the words as NAME_label (or a name, such as country) instead. Codes inside
# a tag (class="st-{{status}}", value="{{code}}", href="/countries/{{iso3}}")
# are fine: nobody reads them.
CODE_FIELDS = frozenset((
    "status", "kind", "role", "class", "state", "stage", "scope", "visibility", "outcome",
    "sent_via", "via", "party_kind", "iso3", "org_type", "listing", "reasons", "ask",
    "countries",
))
# A line may print one anyway with a comment saying why, such as
# {{! code: the translated label, under its API name (person.c) }}.
CODE_ALLOWED = re.compile(r"\{\{!\s*code:\s*\S[^}]{2,}\}\}")


# Templates another change is rewriting at the same time, whose codes are
# fixed there (paths as "templates/NAME.html"); empty when none is.
RAW_CODES_PENDING = set()


def check_raw_codes(path, text):
    if path.replace("\\", "/") in RAW_CODES_PENDING:
        return
    for m in TAG.finditer(text):
        body = m.group(2).strip()
        if m.group(1) or not body or body[0] in "#^/!>_&" or body.startswith("url "):
            continue
        if body.startswith("errors.") or body.split(".")[-1] not in CODE_FIELDS:
            continue
        before = text[:m.start()]
        if before.rfind("<") > before.rfind(">"):
            continue  # inside a tag: an attribute, not text
        start = before.rfind("\n") + 1
        end = text.find("\n", m.end())
        if CODE_ALLOWED.search(text[start:end if end >= 0 else len(text)]):
            continue
        line = text.count("\n", 0, m.start()) + 1
        report(path, line, "{{%s}} prints a code: pass the words (%s_label, a name) "
                           "or say why with {{! code: ... }}" % (body, body.split(".")[-1]))


# Template variables that hold a date as the database keeps it
# ("2026-12-05"): page text shows them in the reader's words through
# {{date name}} ("5 de diciembre de 2026"). Inside a tag (value="{{date}}"
# of a date input, datetime="...") the digits are what the browser needs.
DATE_FIELD = re.compile(r"(^|_)(date|on|when|due|as_of)$|^when_")


def check_raw_dates(path, text):
    for m in TAG.finditer(text):
        body = m.group(2).strip()
        if m.group(1) or not body or body[0] in "#^/!>_&" or " " in body:
            continue
        last = body.split(".")[-1]
        if body.startswith("errors.") or not DATE_FIELD.search(last):
            continue
        before = text[:m.start()]
        if before.rfind("<") > before.rfind(">"):
            continue  # inside a tag: an attribute, not text
        if before.rfind("<textarea") > before.rfind("</textarea>"):
            continue  # the text of a form field, edited as it is
        line = text.count("\n", 0, m.start()) + 1
        report(path, line, "{{%s}} prints a date as digits: use {{date %s}}" % (body, body))


# ---- floors ----

FLOORS = {"base": 0, "db": 1, "svc": 2, "feat": 3, "web": 4}
INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]+"([^"]+)"', re.M)


def floor_of(path):
    """src/feat/letter.c -> ("feat", 3); src/main.c -> ("main", 5)."""
    parts = path.split("/")
    if len(parts) == 3 and parts[1] in FLOORS:
        return parts[1], FLOORS[parts[1]]
    return "main", len(FLOORS)


def check_floors(paths):
    """Each file includes its own floor or lower; feature files form no
    circle (a file's header counts as the file)."""
    feature_deps = {}
    for path in paths:
        name, rank = floor_of(path)
        text = strip_comments(open(path, encoding="utf-8").read())
        for m in INCLUDE.finditer(text):
            target = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            tfloor = target.split("/")[0]
            if tfloor not in FLOORS:
                if not target.startswith("base/assets.h"):
                    report(path, line, f'include "{target}": name its floor ("base/util.h")')
                continue
            if FLOORS[tfloor] > rank:
                report(path, line, f'{name} file includes the higher floor {tfloor}: "{target}"')
            if name == "feat" and tfloor == "feat":
                me = path.split("/")[-1].rsplit(".", 1)[0]
                other = target.split("/")[-1].rsplit(".", 1)[0]
                if other not in (me, "handlers", "routes"):
                    feature_deps.setdefault(me, set()).add(other)
    for cycle in cycles(feature_deps):
        report("src/feat", 0, "feature files in a circle: " + " -> ".join(cycle))


def cycles(graph):
    """The circles of a dependency graph, each once (as found by a DFS)."""
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


# ---- table owners ----

OWNER = re.compile(r"^--\s*owner:\s*(\S+)\s*\n\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.M)
CREATE = re.compile(r"^\s*CREATE TABLE (?:IF NOT EXISTS )?(\w+)", re.M)
WRITE = re.compile(r"\b(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|"
                   r"DELETE\s+FROM)\s+(\w+)", re.I)
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
LITERALS = re.compile(r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*')


def table_owners():
    """table -> owner file, from the "-- owner:" line above each CREATE TABLE;
    a table created without one is reported."""
    owners = {}
    for path in sorted(glob.glob("schema/*.sql")):
        text = open(path, encoding="utf-8").read()
        named = {m.group(2): m.group(1) for m in OWNER.finditer(text)}
        for m in CREATE.finditer(text):
            table = m.group(1)
            line = text.count("\n", 0, m.start()) + 1
            if table in named:
                owners.setdefault(table, named[table])
            elif table not in owners and not table.endswith("_new"):
                report(path, line, f"table {table} names no owner (-- owner: src/...c above it)")
    return owners


def check_table_owners(sources):
    owners = table_owners()
    for owner in sorted(set(owners.values())):
        if owner not in sources:
            report("schema", 0, f"owner {owner} is no file of src/")
    for path in sources:
        if not path.endswith(".c"):
            continue
        text = strip_comments(open(path, encoding="utf-8").read())
        for lit in LITERALS.finditer(text):
            sql = "".join(STRING.findall(lit.group(0)))  # adjacent literals are one string
            for m in WRITE.finditer(sql):
                table = m.group(1)
                if table.upper() in ("SET", "OR") or table not in owners:
                    continue
                if owners[table] != path:
                    line = text.count("\n", 0, lit.start()) + 1
                    report(path, line, f"writes {table}, which {owners[table]} owns: "
                                       "call a function of the owner")


# ---- handlers ----

ROUTE_LINE = re.compile(r"^ROUTE\(\s*\w+\s*,\s*\"[^\"]*\"\s*,\s*(\w+)", re.M)


def check_handlers(sources):
    """Every handler starts with its file's name; routes.def lists each
    file's routes together, so that a grep for a path leads to the file."""
    defined = {}
    for path in sources:
        if path.endswith(".c"):
            text = open(path, encoding="utf-8").read()
            for m in re.finditer(r"^Result (\w+)\(Request \*r\)$", text, re.M):
                defined[m.group(1)] = path
    table = "src/feat/routes.def"
    try:
        text = open(table, encoding="utf-8").read()
    except FileNotFoundError:
        return
    seen, last = set(), None
    for m in ROUTE_LINE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        handler = m.group(1)
        path = defined.get(handler)
        if not path:
            report(table, line, f"{handler} is defined in no file of src/")
            continue
        stem = path.split("/")[-1][:-2]
        if not handler.startswith(stem + "_"):
            report(table, line, f"{handler} lives in {path}: name it {stem}_...")
        if path != last and path in seen:
            report(table, line, f"the routes of {path} are not together")
        seen.add(path)
        last = path


def check_param_raw(path):
    """A typed getter validates and names the field; param_raw() is for the
    few values that need no checking, and the line says why."""
    if not path.startswith("src/feat/") or not path.endswith(".c"):
        return
    lines = open(path, encoding="utf-8").read().split("\n")
    code = strip_comments("\n".join(lines)).split("\n")
    for i, line in enumerate(code):
        if "param_raw(" not in re.sub(r'"(\\.|[^"\\])*"', '""', line):
            continue
        if "raw:" in lines[i] or (i > 0 and "raw:" in lines[i - 1]):
            continue
        report(path, i + 1, "param_raw() without a /* raw: why */ comment: use a typed getter")


def main():
    sources = sorted(glob.glob("src/**/*.[ch]", recursive=True) + glob.glob("src/**/*.def",
                                                                             recursive=True))
    fragments = sql_fragments()
    for path in sources:
        if not path.endswith(".def"):
            check_c(path, fragments)
    for path in sorted(glob.glob("tests/unit/*.c") + glob.glob("tests/fuzz/*.c")):
        text = strip_comments(open(path, encoding="utf-8").read())
        for m in ENGINE.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            report(path, line, f"{m.group(0)}: tests use the storage API (db.h), not the engine")
    check_floors(sources)
    check_handlers(sources)
    for path in sources:
        check_param_raw(path)
    if glob.glob("schema/*.sql"):
        check_table_owners(sources)
    for path in sorted(glob.glob("templates/**/*.html", recursive=True)):
        check_template(path)
    for p in problems:
        print(p)
    if problems:
        print(f"codecheck: {len(problems)} problem(s)")
        return 1
    print("codecheck: SQL literals, raw template output, raw codes, the engine, transactions and "
          "floors ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
