"""Turns one scripts/bench run (a TSV of wrk runs) into the Markdown appended to RESULTS.md.

Columns: name, connections, round, req/s, p50 ms, p99 ms, CPU µs per request of the
application, nginx and mariadbd, committed/2xx (webhook runs), wrk's error lines.
Ratios are taken per round (the same round of both targets ran back to back), then the median.

    python3 bench/summary.py RESULTS.tsv PEAK_RSS_KIB "COLD_MEDIAN COLD_P90" SECONDS WORKERS
"""
import datetime
import platform
import statistics
import subprocess
import sys

results, rss, cold, seconds, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(), sys.argv[4], sys.argv[5]
rows = [line.rstrip("\n").split("\t") for line in open(results) if line.strip()]
NAME, CONNS, ROUND, RPS, P50, P99, APP, NGINX, DB, COMMITTED, ERRORS = range(11)


def runs(name, conns):
    return [r for r in rows if r[NAME] == name and r[CONNS] == conns]


def median(name, conns, column):
    values = [float(r[column]) for r in runs(name, conns) if r[column]]
    return statistics.median(values) if values else None


def shown(value, decimals=2, grouped=False):
    if value is None:
        return "–"
    return f"{value:,.0f}" if grouped else f"{value:.{decimals}f}"


def ratio(ours, other, conns):
    other_runs = runs(other, conns)
    if len(other_runs) == 1:  # measured once (the database alone): every round against it
        rounds = {r[ROUND]: float(other_runs[0][RPS]) for r in runs(ours, conns)}
    else:
        rounds = {r[ROUND]: float(r[RPS]) for r in other_runs if float(r[RPS]) > 0}
    values = [float(r[RPS]) / rounds[r[ROUND]] for r in runs(ours, conns) if r[ROUND] in rounds]
    return statistics.median(values) if values else None


def table(title, targets, compared):
    """targets: (name, label) rows; compared: name → (numerator, denominator, as_percent), the
    ratio shown on that row."""
    if not any(r[NAME] in compared for r in rows):
        return
    print(f"\n{title}\n")
    print("| implementation | conns | req/s | p50 ms | p99 ms | app CPU µs/req | nginx CPU µs/req | MariaDB CPU µs/req | ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for conns in ["8", "32", "128"]:
        for name, label in targets:
            if not runs(name, conns):
                continue
            ratio_text = ""
            if name in compared:
                numerator, denominator, as_percent = compared[name]
                value = ratio(numerator, denominator, conns)
                ratio_text = "" if value is None else f"{value:.0%}" if as_percent else f"{value:.2f}×"
            print(f"| {label} | {conns} | {shown(median(name, conns, RPS), grouped=True)} | {shown(median(name, conns, P50))} | "
                  f"{shown(median(name, conns, P99))} | {shown(median(name, conns, APP), 1)} | {shown(median(name, conns, NGINX), 1)} | "
                  f"{shown(median(name, conns, DB), 1)} | {ratio_text} |")


cpu = open("/proc/cpuinfo").read().split("model name")[1].split("\n")[0].strip(": \t")
memory = round(int(open("/proc/meminfo").read().split()[1]) / 1024 / 1024)
nginx = subprocess.getoutput("nginx -v 2>&1").replace("nginx version: ", "")
mariadb = subprocess.getoutput("mariadbd --version").split(" Ver ")[-1].split(" for ")[0]
print(f"\n## {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC\n")
print(f"Machine: {cpu}, {subprocess.getoutput('nproc')} cores, {memory} GiB; Linux {platform.release()}; {nginx}; MariaDB {mariadb}. "
      f"{workers} workers for each implementation; wrk -t2 on the same machine, {seconds} s per run, 3 rounds, medians.")
table("FastCGI ceiling (GET, a fixed JSON body). Ratio: requests/s against the C libfcgi responder.",
      [("static", "nginx static file"), ("c", "C libfcgi responder"), ("ours", "PaymentsFCGI /livez"), ("kept", "PaymentsFCGI, keep_conn on")],
      {"ours": ("ours", "c", True), "kept": ("kept", "c", True)})
table("License verify (POST /license/verify: key check, seats, Ed25519-signed answer; 10,000 licenses, 30,000 activations, "
      "random keys). Ratio: PaymentsFCGI's requests/s against this row's.",
      [("ours-verify", "PaymentsFCGI"), ("php", "PHP-FPM 8.2 + PDO (persistent)"), ("python", "Flask + PyMySQL, gunicorn"),
       ("db-verify", "MariaDB alone: the same SELECT from C, no web server (app CPU = the C client's)")],
      {"php": ("ours-verify", "php", False), "python": ("ours-verify", "python", False), "db-verify": ("ours-verify", "db-verify", True)})
table("Webhook (POST /stripe/webhook: a distinct signed checkout.session.completed, 3.5 KB; claim, customer, order, license, "
      "sealed key email, grant, notification, audit — one durable transaction). Ratio: PaymentsFCGI's requests/s against this row's.",
      [("ours-webhook", "PaymentsFCGI"), ("php-webhook", "PHP-FPM 8.2 + PDO (persistent)"), ("python-webhook", "Flask + PyMySQL, gunicorn"),
       ("db-webhook", "MariaDB alone: the same statements from C, no web server (app CPU = the C client's)")],
      {"php-webhook": ("ours-webhook", "php-webhook", False), "python-webhook": ("ours-webhook", "python-webhook", False),
       "db-webhook": ("ours-webhook", "db-webhook", True)})
checks = [r for r in rows if r[COMMITTED]]
if checks:
    # A run ends with requests in flight: committed, but their answers never counted by wrk.
    # So the ledger may hold more than the 2xx count, never fewer.
    counts = [tuple(int(x) for x in r[COMMITTED].split("/")) for r in checks]
    short = [f"{r[NAME]} c={r[CONNS]} round {r[ROUND]}: {r[COMMITTED]}" for r, (done, ok) in zip(checks, counts) if done < ok]
    extra = max(done - ok for done, ok in counts)
    print(f"\nEvery 2xx a webhook answered was a committed event in the ledger ({len(checks)} runs checked; at most "
          f"{extra} more were committed while wrk stopped, at most one per connection)." if not short
          else "\n**2xx answers without a committed event:** " + "; ".join(short))
errors = sorted({r[ERRORS].strip() for r in rows if len(r) > ERRORS and r[ERRORS].strip()})
if errors:
    print("\nErrors reported by wrk: " + "; ".join(errors))
print(f"\nPeak RSS of the responder ({workers} workers) after all runs: {rss / 1024:.1f} MiB. "
      f"CGI cold start to first byte: median {cold[0]} ms, 90th percentile {cold[1]} ms (30 runs).")
