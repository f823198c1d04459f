"""The safety checker that `make check` runs must catch each violation it
promises to catch, and pass the real tree."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "codecheck.py"


def run_on(tmp_path, c_source="", template="", files=None):
    (tmp_path / "src").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "src" / "x.c").write_text(c_source)
    (tmp_path / "templates" / "t.html").write_text(template)
    for name, text in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return subprocess.run(["/usr/bin/python3", str(CHECKER)], cwd=tmp_path,
                          capture_output=True, text=True)


def test_real_tree_is_clean():
    r = subprocess.run(["/usr/bin/python3", str(CHECKER)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout


def test_sql_from_a_variable_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db, const char *q) { db_prepare(db, q); }\n')
    assert r.returncode == 1
    assert "x.c:1: db_prepare() needs a string literal" in r.stdout


def test_sql_built_with_printf_fails(tmp_path):
    r = run_on(tmp_path, 'void f(void) { char *q = sqlite3_mprintf("SELECT %s", x); }\n')
    assert r.returncode == 1 and "sqlite3_mprintf outside src/db/sqlite.c" in r.stdout


def test_libpq_outside_its_engine_fails(tmp_path):
    r = run_on(tmp_path, 'void f(PGconn *c) { PQexec(c, "DELETE FROM users"); }\n')
    assert r.returncode == 1
    assert "PGconn: the engine is src/db/postgres.c's alone" in r.stdout
    assert "PQexec: the engine is src/db/postgres.c's alone" in r.stdout


def test_bypassing_the_macro_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) { db_exec_(db, "DELETE FROM users"); }\n')
    assert r.returncode == 1 and "not db_exec_()" in r.stdout


def test_sql_built_at_run_time_outside_copy_c_fails(tmp_path):
    dynamic = 'void f(Db *db, const char *q) { Stmt *st = db_prepare_dynamic(db, q); }\n'
    r = run_on(tmp_path, dynamic)
    assert r.returncode == 1
    assert "x.c:1: SQL built at run time outside src/db/copy.c" in r.stdout
    # The copy of every table, whose names come from the catalogue, may.
    (tmp_path / "copy").mkdir()
    r = run_on(tmp_path / "copy", files={"src/db/copy.c": dynamic})
    assert r.returncode == 0, r.stdout


def test_literal_sql_passes(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) {\n  db_prepare(db, "SELECT 1 "\n "FROM t WHERE a = :a");\n}\n')
    assert r.returncode == 0, r.stdout


VISIBILITY_H = ('#define VISIBILITY_SQL \\\n  "(vis.visibility = \'public\' " \\\n'
                '  "OR :viewer_id > 0)"\n'
                '#define NOT_A_LITERAL_SQL some_function()\n')


def test_a_fragment_of_visibility_h_passes(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) {\n  db_prepare(db, "SELECT id FROM letters vis "\n'
                         '  "WHERE " VISIBILITY_SQL " ORDER BY id");\n}\n',
               files={"src/svc/visibility.h": VISIBILITY_H})
    assert r.returncode == 0, r.stdout


def test_an_unknown_identifier_among_literals_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) {\n  db_prepare(db, "SELECT id FROM t WHERE " OTHER_SQL);\n}\n',
               files={"src/svc/visibility.h": VISIBILITY_H})
    assert r.returncode == 1
    assert "x.c:2: db_prepare() needs a string literal" in r.stdout


def test_a_fragment_that_is_not_a_literal_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) { db_prepare(db, "SELECT 1 WHERE " NOT_A_LITERAL_SQL); }\n',
               files={"src/svc/visibility.h": VISIBILITY_H})
    assert r.returncode == 1 and "x.c:1: db_prepare() needs a string literal" in r.stdout


def test_a_fragment_defined_elsewhere_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) { db_prepare(db, "SELECT 1 WHERE " VISIBILITY_SQL); }\n',
               files={"src/feat/letter.h": VISIBILITY_H})
    assert r.returncode == 1 and "x.c:1: db_prepare() needs a string literal" in r.stdout


def test_raw_template_output_without_reason_fails(tmp_path):
    r = run_on(tmp_path, template="<p>{{& body}}</p>\n")
    assert r.returncode == 1 and "without a '// reason'" in r.stdout


def test_triple_mustache_fails(tmp_path):
    r = run_on(tmp_path, template="\n{{{body}}}\n")
    assert r.returncode == 1 and "t.html:2: triple mustache" in r.stdout


def test_raw_with_reason_passes(tmp_path):
    r = run_on(tmp_path, template="{{& body // sanitised by cmark, raw HTML dropped}}\n")
    assert r.returncode == 0, r.stdout


def test_html_by_hand_in_c_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Buf *b) { buf_puts(b, "<script>"); }\n')
    assert r.returncode == 1 and "HTML built by hand" in r.stdout


# ---- the floors (issue 9) ----


def test_including_a_higher_floor_fails(tmp_path):
    r = run_on(tmp_path, files={"src/base/a.c": '#include "feat/letter.h"\n'})
    assert r.returncode == 1
    assert 'src/base/a.c:1: base file includes the higher floor feat' in r.stdout


def test_including_a_lower_floor_passes(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": '#include "svc/http.h"\n#include "base/util.h"\n'})
    assert r.returncode == 0, r.stdout


def test_an_include_without_its_floor_fails(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": '#include "util.h"\n'})
    assert r.returncode == 1 and "name its floor" in r.stdout


def test_feature_files_in_a_circle_fail(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": '#include "feat/b.h"\n',
                                "src/feat/b.c": '#include "feat/c.h"\n',
                                "src/feat/c.c": '#include "feat/a.h"\n'})
    assert r.returncode == 1 and "feature files in a circle: a -> b -> c -> a" in r.stdout


def test_the_engine_outside_its_file_fails(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": "int f(Stmt *st) { return SQLITE_ROW; }\n",
                                "src/db/sqlite.c": "int g(void) { return SQLITE_ROW; }\n"})
    assert r.returncode == 1
    assert "src/feat/a.c:1: SQLITE_ROW: the engine is src/db/sqlite.c's alone" in r.stdout
    assert "sqlite.c" not in r.stdout.replace("src/db/sqlite.c's alone", "")


def test_a_transaction_by_hand_fails(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": 'void f(Db *db) {\n  db_begin(db);\n'
                                                '  db_exec(db, "COMMIT");\n}\n'})
    assert r.returncode == 1
    assert "src/feat/a.c:2: a transaction by hand" in r.stdout
    assert "src/feat/a.c:3: a transaction by hand" in r.stdout


def test_a_handler_not_named_after_its_file_fails(tmp_path):
    r = run_on(tmp_path, files={
        "src/feat/routes.def": 'ROUTE(GET, "/a", letter_page, PUBLIC, NOCSRF)\n'
                               'ROUTE(GET, "/b", targets_page, PUBLIC, NOCSRF)\n'
                               'ROUTE(GET, "/c", letter_list_page, PUBLIC, NOCSRF)\n',
        "src/feat/letter.c": "Result letter_page(Request *r)\n{\n}\n"
                             "Result targets_page(Request *r)\n{\n}\n",
        "src/feat/target.c": "Result letter_list_page(Request *r)\n{\n}\n"})
    assert r.returncode == 1
    assert "routes.def:2: targets_page lives in src/feat/letter.c: name it letter_..." in r.stdout
    assert "routes.def:3: letter_list_page lives in src/feat/target.c: name it target_..." in r.stdout


def test_routes_of_a_file_apart_fail(tmp_path):
    r = run_on(tmp_path, files={
        "src/feat/routes.def": 'ROUTE(GET, "/a", letter_page, PUBLIC, NOCSRF)\n'
                               'ROUTE(GET, "/b", target_page, PUBLIC, NOCSRF)\n'
                               'ROUTE(GET, "/c", letter_list_page, PUBLIC, NOCSRF)\n',
        "src/feat/letter.c": "Result letter_page(Request *r)\n{\n}\n"
                             "Result letter_list_page(Request *r)\n{\n}\n",
        "src/feat/target.c": "Result target_page(Request *r)\n{\n}\n"})
    assert r.returncode == 1 and "the routes of src/feat/letter.c are not together" in r.stdout


def test_a_table_written_by_another_file_fails(tmp_path):
    r = run_on(tmp_path, files={
        "schema/001_x.sql": "-- owner: src/feat/letter.c\nCREATE TABLE letters (id INTEGER);\n"
                            "CREATE TABLE orphans (id INTEGER);\n",
        "src/feat/letter.c": 'void f(Db *w) { db_prepare(w, "DELETE FROM letters"); }\n',
        "src/feat/target.c": 'void g(Db *w) {\n  db_prepare(w, "UPDATE "\n'
                             '                    "letters SET x = 1");\n}\n'})
    assert r.returncode == 1
    assert "src/feat/target.c:2: writes letters, which src/feat/letter.c owns" in r.stdout
    assert "src/feat/letter.c" not in r.stdout.replace("which src/feat/letter.c owns", "")
    assert "schema/001_x.sql:3: table orphans names no owner" in r.stdout


def test_param_raw_without_a_reason_fails(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": 'void f(Request *r) {\n'
                                                '  const char *v = param_raw(r, "v");\n}\n'})
    assert r.returncode == 1
    assert "src/feat/a.c:2: param_raw() without a /* raw: why */ comment" in r.stdout


def test_param_raw_with_a_reason_passes(tmp_path):
    r = run_on(tmp_path, files={
        "src/feat/a.c": 'void f(Request *r) {\n'
                        '  /* raw: shown again as typed */\n'
                        '  const char *v = param_raw(r, "v");\n'
                        '  const char *w = param_raw(r, "w"); /* raw: only empty or not matters */\n'
                        '}\n',
        "src/svc/request.c": 'const char *g(Request *r) { return param_raw(r, "x"); }\n'})
    assert r.returncode == 0, r.stdout


def test_param_raw_in_a_string_or_far_from_its_reason_fails(tmp_path):
    r = run_on(tmp_path, files={"src/feat/a.c": '/* raw: not this one */\n\n'
                                                'void f(Request *r) { param_raw(r, "v"); }\n'
                                                'const char *s = "param_raw(";\n'})
    assert r.returncode == 1
    assert "src/feat/a.c:3:" in r.stdout and "src/feat/a.c:4:" not in r.stdout


# ---- raw codes in templates (issue 14) ----

# What the pages printed before issue 14, each showing a code to people.
KNOWN_RAW_CODES = [
    '<p><span class="badge">{{status}}</span></p>',                      # "response_received"
    '<td>{{iso3}}</td><td>{{status}}</td>',                                # "AGO", "draft"
    '<td>{{party_date}} {{#party_kind}}({{party_kind}}){{/party_kind}}</td>',  # "accession"
    '<dd>{{role}}</dd>',                                                   # "member"
    '<li>{{kind}} {{organisation}}, {{iso3}}: {{status}}</li>',            # "individual"
    '<td>{{reasons}}</td>',                                                # "cost justiciability"
    '<td>{{scope}}</td>',                                                  # "write"
    '<p>{{letter.status}}</p>',                                            # dotted
]


def test_known_raw_codes_fail(tmp_path):
    for i, line in enumerate(KNOWN_RAW_CODES):
        d = tmp_path / str(i)
        d.mkdir()
        r = run_on(d, template=line + "\n")
        assert r.returncode == 1, line
        assert "t.html:1: {{" in r.stdout and "prints a code" in r.stdout, r.stdout


def test_words_and_attributes_pass(tmp_path):
    template = (
        '<span class="badge st-{{status}}">{{status_label}}</span>\n'
        '<a href="/countries/{{iso3}}">{{country}}</a>\n'
        '<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>\n'
        '{{#errors.kind}}<p class="field-error">{{errors.kind}}</p>{{/errors.kind}}\n'
        '{{#status}}<p>{{status_label}}</p>{{/status}}\n'
        '<p>{{state}}</p>{{! code: the state is its name here }}\n'
    )
    r = run_on(tmp_path, template=template)
    assert r.returncode == 0, r.stdout


def test_an_allowance_needs_a_reason(tmp_path):
    r = run_on(tmp_path, template="<p>{{status}}</p>{{! code: }}\n")
    assert r.returncode == 1 and "prints a code" in r.stdout


def test_dates_print_in_words(tmp_path):
    for i, line in enumerate(['<td>{{sent_on}}</td>', '<p>{{letter.received_on}}</p>',
                              '<dd>{{when}}</dd>', '<td>{{signature_date}}</td>',
                              '<dd>{{followup_due}}</dd>', '<dd>{{when_viewer}}</dd>']):
        d = tmp_path / str(i)
        d.mkdir()
        r = run_on(d, template=line + "\n")
        assert r.returncode == 1 and "prints a date as digits" in r.stdout, line
    ok = tmp_path / "ok"
    ok.mkdir()
    r = run_on(ok, template='<td>{{date sent_on}}</td><input type="date" value="{{sent_on}}">'
                            '<time datetime="{{date}}">{{date date}}</time>'
                            '{{#errors.due_on}}<p>{{errors.due_on}}</p>{{/errors.due_on}}'
                            '<textarea>{{when}}</textarea><p>{{donation}}</p>\n')
    assert r.returncode == 0, r.stdout
