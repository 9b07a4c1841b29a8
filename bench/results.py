"""Where every benchmark puts its numbers, and what `make bench` turns into docs/performance.md.

A benchmark calls `write_result(name, params=..., results=..., targets=[...], section=...)` once at its end. The file
`docs/bench/<name>.json` (or `$JINGZHAN_BENCH_OUT/<name>.json`, which the smoke test uses so that a tiny run never
replaces the real numbers) holds the machine, the date, the parameters, the raw results, the targets it measured and a
short Markdown section. `bench/report.py` puts the targets of every file into one table and the sections below it,
between the markers of docs/performance.md; the analysis written by hand around the markers stays as it is.
"""
import json
import os
import platform
import sqlite3
import subprocess
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def out_dir() -> Path:
    return Path(os.environ.get("JINGZHAN_BENCH_OUT") or ROOT / "docs" / "bench")


def is_smoke() -> bool:
    """True when the run is the test suite's smoke run (tiny sizes, numbers that mean nothing)."""
    return bool(os.environ.get("JINGZHAN_BENCH_OUT"))


@dataclass
class Target:
    """One line of the issue's targets: what, the goal as text, what was measured as text, whether it was met, and
    for a miss by how much and why (the report must say so)."""

    what: str
    goal: str
    measured: str
    met: bool | None  # None: not measured in this run (say why in note)
    note: str = ""
    value: float | None = None  # the number behind `measured`, for machines
    extra: dict = field(default_factory=dict)


def _command(*args) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict:
    """The facts a reader needs to compare two runs."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(), "cpu": cpu, "memory_gib": memory_gib,
        "os": _command("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME") or platform.platform(),
        "kernel": platform.release(), "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
        "postgresql": _command("sh", "-c", "ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -1"),
        "chromium": _command("/usr/bin/chromium", "--version"),
    }


def write_result(name: str, *, params: dict, results, targets: list[Target], section: str) -> Path:
    """Keep one benchmark's run: docs/bench/<name>.json (replacing the previous run of the same name)."""
    folder = out_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    body = {
        "name": name,
        "measured_at": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds"),
        "smoke": is_smoke(),
        "machine": machine(),
        "params": params,
        "targets": [asdict(t) for t in targets],
        "section": section.strip() + "\n",
        "results": results,
    }
    path.write_text(json.dumps(body, ensure_ascii=False, indent=1, default=str) + "\n")
    return path


def read_results(folder: Path | None = None) -> list[dict]:
    folder = folder or out_dir()
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
