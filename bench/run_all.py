"""`make bench`: every benchmark in turn, each bounded in time, then docs/performance.md (bench/report.py).

    .venv/bin/python bench/run_all.py              # the real sizes (tens of minutes; nothing else should run)
    .venv/bin/python bench/run_all.py --smoke      # tiny sizes, a minute or two: proves the scripts still run
    .venv/bin/python bench/run_all.py --only sync,pages

PostgreSQL parts run when JINGZHAN_TEST_POSTGRES_URL names a server (`make bench` starts a throw-away cluster
with scripts/with-test-postgres.sh); without one they are reported as not measured. Every script accepts --smoke
and writes its own docs/bench/<name>.json through bench/results.py. A script that fails or overruns its time is
reported and the others still run; the exit status is then 1.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results import out_dir

HERE = Path(__file__).resolve().parent

# (name, script, arguments of the real run, seconds it may take at most in a real run)
BENCHES = [
    ("sync", "bench_sync.py", [], 900),
    ("pages", "bench_pages.py", ["--sizes", "10k,100k,1m"], 2400),
    ("load", "load_sync.py", ["--backend", "both", "--duration", "60", "--think", "1"], 600),
    ("wire", "check_size.py", [], 300),
    ("shell", "shell_size.py", [], 300),
    ("scan", "scan_offline.py", [], 300),
    ("memory", "memory.py", [], 300),
    ("client", "client_pages.py", [], 1200),
]
SMOKE_SECONDS = 240


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to prove the scripts run")
    parser.add_argument("--only", default="", help="comma-separated names: " + ", ".join(b[0] for b in BENCHES))
    args = parser.parse_args(argv)
    only = {n for n in args.only.split(",") if n}
    if args.smoke and not os.environ.get("JINGZHAN_BENCH_OUT"):  # a smoke run never writes into docs/bench
        os.environ["JINGZHAN_BENCH_OUT"] = tempfile.mkdtemp(prefix="jingzhan-bench-smoke-")
    failed = []
    for name, script, real_args, limit in BENCHES:
        if only and name not in only:
            continue
        if not (HERE / script).exists():
            print(f"[{name}] {script} is missing", flush=True)
            failed.append(name)
            continue
        command = [sys.executable, str(HERE / script), *(["--smoke"] if args.smoke else real_args)]
        began = time.monotonic()
        print(f"[{name}] {' '.join(command[1:])}", flush=True)
        try:
            code = subprocess.run(command, cwd=HERE, timeout=SMOKE_SECONDS if args.smoke else limit, env=os.environ).returncode
        except subprocess.TimeoutExpired:
            code = "timeout"
        print(f"[{name}] {'ok' if code == 0 else f'FAILED ({code})'} in {time.monotonic() - began:.0f} s", flush=True)
        if code != 0:
            failed.append(name)
    report = [sys.executable, str(HERE / "report.py"), "--results", str(out_dir())]
    if args.smoke:  # a smoke run never touches the real report
        report += ["--doc", str(out_dir() / "performance.md")]
    subprocess.run(report, cwd=HERE, check=True)
    if failed:
        print("failed: " + ", ".join(failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
