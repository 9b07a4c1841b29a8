#!/usr/bin/env python3
"""`make security`: pip-audit over the project's environment; fails on a known vulnerability, not on the network.

pip-audit asks a vulnerability service (PyPI's JSON API by default, or OSV) about every installed package. A
machine that cannot reach one — offline, behind a proxy, or with a package mirror that answers only the simple
index (as the development machines here do: every package comes back "not found on PyPI") — cannot audit; that is
reported loudly and does not fail the build, because it says nothing about our dependencies. A vulnerability that
was found does fail it, unless it is listed in IGNORED with the reason it cannot be fixed yet (docs/security.md).

    python scripts/audit_dependencies.py            # run pip-audit and judge its report
    python scripts/audit_dependencies.py --report F # judge a saved `pip-audit -f json` report
"""
import argparse
import json
import subprocess
import sys

# Vulnerability id → why it cannot be fixed yet (and what limits it). Keep docs/security.md in step.
IGNORED: dict[str, str] = {}

TIMEOUT_S = 15  # per request to the vulnerability service


def run_pip_audit() -> tuple[dict | None, str]:
    """pip-audit's JSON report of this interpreter's environment, or None and the reason it could not be made."""
    command = [sys.executable, "-m", "pip_audit", "--format", "json", "--progress-spinner", "off",
               "--timeout", str(TIMEOUT_S), "--skip-editable"]
    for vuln_id in IGNORED:
        command += ["--ignore-vuln", vuln_id]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=600)  # nosec B603: fixed command
    except FileNotFoundError:
        return None, "pip-audit is not installed (pip install -e '.[test]')"
    except subprocess.TimeoutExpired:
        return None, "pip-audit took longer than 10 minutes"
    try:
        return json.loads(done.stdout), ""
    except json.JSONDecodeError:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return None, lines[-1] if lines else f"pip-audit exited {done.returncode} without a report"


def judge(report: dict) -> tuple[list[str], list[str], int]:
    """(vulnerabilities found, packages that could not be audited, packages audited) of a pip-audit report."""
    found, skipped, audited = [], [], 0
    for dep in report.get("dependencies", []):
        if dep.get("skip_reason"):
            skipped.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        audited += 1
        for vuln in dep.get("vulns", []):
            if vuln["id"] in IGNORED or set(vuln.get("aliases", [])) & IGNORED.keys():
                continue
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed version yet"
            found.append(f"{dep['name']} {dep.get('version', '?')}: {vuln['id']} (fixed in: {fixes})")
    return found, skipped, audited


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", help="judge this saved `pip-audit -f json` report instead of running pip-audit")
    args = parser.parse_args(argv)
    if args.report:
        with open(args.report, encoding="utf-8") as file:
            report, problem = json.load(file), ""
    else:
        report, problem = run_pip_audit()
    if report is None:
        print(f"pip-audit: WARNING — could not audit the dependencies: {problem}. Not a failure: the vulnerability "
              "service was not reachable from here; CI or a machine with internet access must run it.")
        return 0
    found, skipped, audited = judge(report)
    for reason_id, reason in IGNORED.items():
        print(f"pip-audit: ignored {reason_id}: {reason}")
    if found:
        print(f"pip-audit: {len(found)} known vulnerabilit{'y' if len(found) == 1 else 'ies'} in the dependencies:")
        for line in found:
            print(f"  {line}")
        print("Upgrade the package (pyproject.toml), or write the reason it cannot be fixed into IGNORED in "
              "scripts/audit_dependencies.py and docs/security.md.")
        return 1
    if audited == 0:
        print(f"pip-audit: WARNING — none of the {len(skipped)} packages could be audited (first: "
              f"{skipped[0] if skipped else 'none'}). The package index reached from here has no vulnerability data; "
              "not a failure, but nothing was checked.")
        return 0
    print(f"pip-audit: no known vulnerabilities in {audited} packages"
          + (f" ({len(skipped)} could not be audited)" if skipped else "") + ".")
    return 0


if __name__ == "__main__":
    sys.exit(main())
