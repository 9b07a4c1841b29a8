"""`make bench` cannot rot: every benchmark runs at tiny sizes and reports its targets; the report keeps the
hand-written analysis around its generated block."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from report import BEGIN, END, update  # noqa: E402
from run_all import BENCHES  # noqa: E402


def run(name, section="done", targets=None, smoke=False):
    return {"name": name, "measured_at": "2026-11-26T16:00:00+08:00", "smoke": smoke, "section": section,
            "machine": {"cores": 2, "cpu": "x", "memory_gib": 24, "os": "Debian", "python": "3.11", "sqlite": "3.40"},
            "targets": targets or [], "params": {}, "results": {}}


def test_the_report_replaces_only_its_block(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text(f"# Performance\n\nintro\n\n{BEGIN}\nold numbers\n{END}\n\n## Analysis by hand\nkept\n")
    miss = {"what": "sync | ratio", "goal": "≥ 50 %", "measured": "41 %", "met": False, "note": "by 9 points: JSON parsing"}
    update(doc, [run("sync", "### details\nrow", [miss])])
    text = doc.read_text()
    assert "old numbers" not in text and "intro" in text and "## Analysis by hand\nkept" in text
    assert "| sync \\| ratio | ≥ 50 % | 41 % | ❌ missed | by 9 points: JSON parsing |" in text
    assert text.count(BEGIN) == 1 and text.count(END) == 1


def test_a_report_without_markers_gets_its_block_under_the_title(tmp_path):
    doc = tmp_path / "performance.md"
    doc.write_text("# Performance\n\nby hand\n")
    update(doc, [run("shell", smoke=True)])
    text = doc.read_text()
    assert text.startswith("# Performance\n\n## The targets, measured") and text.rstrip().endswith("by hand")
    assert "smoke-run numbers" in text


def test_every_benchmark_runs_at_tiny_sizes_and_reports_its_targets(tmp_path):
    env = {**os.environ, "JINGZHAN_BENCH_OUT": str(tmp_path)}
    env.pop("JINGZHAN_TEST_POSTGRES_URL", None)  # the PostgreSQL parts say "not measured" without a server
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "run_all.py"), "--smoke"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    for name, *_ in BENCHES:
        result = json.loads((tmp_path / f"{name}.json").read_text())
        assert result["smoke"] is True and result["targets"], name
        assert all(t["met"] in (True, False, None) and t["what"] and t["goal"] for t in result["targets"]), name
    report = (tmp_path / "performance.md").read_text()
    assert "smoke-run numbers" in report
    # The real report is never touched by a smoke run.
    assert "smoke-run numbers" not in (ROOT / "docs" / "performance.md").read_text()
