#!/usr/bin/python3
"""bench/import_members.py: how fast `ratify import members --apply` is.

Generates a deterministic CSV of members (100,000 and 1,000,000 rows by
default, each run on its own: names
from many regions, unique emails, countries as ISO3 codes and as English
names, a fifth of them organisations), runs `ratify init` on a fresh
database, times `ratify import members FILE --apply` on it, checks that
every row arrived, and writes the figure into bench/RESULTS.md between the
markers <!-- import-bench --> and <!-- /import-bench -->, leaving the rest
of the file (what bench/run.py writes) as it is.

    /usr/bin/python3 bench/import_members.py [ROWS]...

RATIFY_BIN names the binary (default build/ratify).
"""
import csv
import datetime
import os
import pathlib
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
BIN = os.environ.get("RATIFY_BIN", str(ROOT / "build" / "ratify"))
RESULTS = ROOT / "bench" / "RESULTS.md"
START, END = "<!-- import-bench -->", "<!-- /import-bench -->"
SEED = 20261130

FIRST = ["Ana", "María", "José", "Lucía", "Carlos", "Fatima", "Amina", "Mohamed", "Youssef",
         "Aïcha", "Kwame", "Ngozi", "Chinedu", "Wanjiru", "Tendai", "Thandiwe", "Priya",
         "Arjun", "Meera", "Nguyen", "Mai", "Siti", "Budi", "Rizal", "Olga", "Ivan", "Anna",
         "Jean", "Marie", "Claire", "Lars", "Ingrid", "Sofia", "Mateo", "Valentina", "Juan",
         "Layla", "Omar", "Samira", "Hana", "Kenji", "Aiko", "Min-jun", "Seo-yeon", "Tupac",
         "Rosa", "Pedro", "Fernanda", "Ahmad", "Zainab", "Grace", "Joseph", "Esther", "Paulo"]
LAST = ["Pérez", "García", "Rodríguez", "Mensah", "Okafor", "Mwangi", "Moyo", "Dlamini",
        "Benali", "El Amrani", "Haddad", "Khan", "Sharma", "Patel", "Nguyen", "Tran",
        "Santoso", "Wijaya", "Ivanova", "Petrov", "Kowalski", "Dubois", "Martin", "Larsen",
        "Andersson", "Rossi", "Silva", "Souza", "Quispe", "Mamani", "Yamamoto", "Kim", "Park",
        "Ali", "Hussein", "Abdullah", "Osei", "Banda", "Phiri", "Ochieng", "Diallo", "Traoré"]
ORG_WORDS = ["Rights", "Justice", "Action", "Network", "Alliance", "Centre", "Forum",
             "Collective", "Initiative", "Coalition", "Union", "Association", "Foundation"]
ORG_TOPICS = ["Housing", "Food", "Water", "Health", "Education", "Labour", "Land", "Women's",
              "Social Security", "Indigenous", "Economic", "Cultural", "Workers'"]
ORG_TYPES = ["human_rights_ngo", "trade_union", "womens_group", "lawyers_association",
             "academic", "development_ngo", "community_organisation", "other"]
LANGS = ["en", "es", "fr", "ar", "pt", "ru", "en es", "en fr", "fr ar", "es pt", "en sw"]
STATUSES = ["active"] * 17 + ["lapsed", "left", "pending"]
LISTINGS = ["hidden"] * 5 + ["members"] * 3 + ["public"] * 2
DOMAINS = ["example.org", "example.net", "example.com", "mail.example", "ngo.example"]


def countries():
    """(iso3, English name) of the states Ratify ships."""
    with open(ROOT / "data" / "countries.csv", encoding="utf-8") as f:
        return [(row["iso3"], row["name_en"]) for row in csv.DictReader(f)]


def ascii_part(text):
    table = str.maketrans("áéíóúàèïñçüÁÉÍÓÚ'", "aeiouaeincuAEIOU-")
    return "".join(c for c in text.translate(table).lower() if c.isalnum() or c in "-.")


def generate(path, rows):
    """Writes rows members to path; returns the number of distinct emails."""
    rng = random.Random(SEED)
    states = countries()
    emails = set()
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["Full name", "E-mail", "Country", "Organisation", "Type", "Website",
                    "Languages", "Listing", "Status", "Consent updates", "Member since"])
        for i in range(rows):
            first, last = rng.choice(FIRST), rng.choice(LAST)
            iso3, name_en = rng.choice(states)
            country = name_en if rng.random() < 0.3 else iso3
            email = f"{ascii_part(first)}.{ascii_part(last)}.{i}@{rng.choice(DOMAINS)}"
            emails.add(email)
            org = org_type = website = ""
            if rng.random() < 0.2:
                org = f"{rng.choice(ORG_TOPICS)} {rng.choice(ORG_WORDS)} {last}"
                org_type = rng.choice(ORG_TYPES)
                if rng.random() < 0.6:
                    website = f"https://{ascii_part(org.replace(' ', '-'))}.example.org"
            since = datetime.date(2008, 1, 1) + datetime.timedelta(days=rng.randrange(6500))
            w.writerow([f"{first} {last}", email, country, org, org_type, website,
                        rng.choice(LANGS), rng.choice(LISTINGS), rng.choice(STATUSES),
                        rng.choice(["yes", "no"]), since.isoformat()])
    return len(emails)


def load_average():
    """The 1-minute load average: the machine may be shared."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def write_results(runs):
    """runs: (rows, seconds, load average before the run) each."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [f"Member import: {rows} rows in {seconds:.2f} s, {rows / seconds:.0f} rows/s "
             f"(load average {load:.2f} before)" for rows, seconds, load in runs]
    block = "\n".join([
        START,
        "## Member import",
        "",
        *lines,
        "",
        f"Written by `bench/import_members.py` on {now}: {platform.machine()}, "
        f"{os.cpu_count()} cores. `ratify import members FILE --apply` on a fresh `ratify init` "
        "database, the wall time of the whole command (reading, checking every row, writing in "
        "batches per transaction with synchronous=FULL). Aims (issue 4, issue 9): 100,000 "
        "rows well under a minute, 1,000,000 rows in 30 s or less.",
        END,
    ])
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        after = rest.split(END, 1)[1]
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def run(rows):
    """Imports rows generated members into a fresh database; returns the
    wall time of the command in seconds."""
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="ratify-import-bench-"))
    try:
        db, members = tmp / "bench.db", tmp / "members.csv"
        distinct = generate(members, rows)
        subprocess.run([BIN, "init", "--db", str(db)], check=True, capture_output=True)
        start = time.monotonic()
        p = subprocess.run([BIN, "import", "members", str(members), "--apply", "--db", str(db)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        seconds = time.monotonic() - start
        if p.returncode != 0:
            sys.exit(f"bench: the import failed ({p.returncode}):\n{p.stderr}")
        with sqlite3.connect(db) as c:
            people = c.execute("SELECT count(*) FROM people").fetchone()[0]
            status = c.execute("SELECT status FROM member_imports").fetchone()[0]
        if people != distinct or status != "done":
            sys.exit(f"bench: expected {distinct} people and a finished job, "
                     f"found {people} and {status}")
        return seconds
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    if not os.access(BIN, os.X_OK):
        sys.exit(f"bench: no ratify binary at {BIN}: run make build/ratify")
    runs = []
    for rows in sizes:
        load = load_average()
        seconds = run(rows)
        print(f"Member import: {rows} rows in {seconds:.2f} s, {rows / seconds:.0f} rows/s "
              f"(load average {load:.2f} before)", flush=True)
        runs.append((rows, seconds, load))
    write_results(runs)


if __name__ == "__main__":
    main()
