"""The safety checker that `make check` runs must catch each violation it
promises to catch, and pass the real tree."""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKER = ROOT / "tools" / "codecheck.py"


def run_on(tmp_path, c_source="", template=""):
    (tmp_path / "src").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "src" / "x.c").write_text(c_source)
    (tmp_path / "templates" / "t.html").write_text(template)
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
    assert r.returncode == 1 and "sqlite3_mprintf outside db.c" in r.stdout


def test_bypassing_the_macro_fails(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) { db_exec_(db, "DELETE FROM users"); }\n')
    assert r.returncode == 1 and "not db_exec_()" in r.stdout


def test_literal_sql_passes(tmp_path):
    r = run_on(tmp_path, 'void f(Db *db) {\n  db_prepare(db, "SELECT 1 "\n "FROM t WHERE a = :a");\n}\n')
    assert r.returncode == 0, r.stdout


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
