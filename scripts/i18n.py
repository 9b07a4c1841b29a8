#!/usr/bin/env python3
"""The English catalogue (webapp/catalogue.py).

  scripts/i18n.py update            rewrite webapp/translations/en/LC_MESSAGES/messages.po from the code
                                    (translations kept, .i18n-parts/*.po merged in, gone texts dropped)
  scripts/i18n.py check [FILE ...]  what is unwrapped or untranslated, in these files or everywhere
  scripts/i18n.py missing [FILE ...]  the untranslated texts as a .po stub to fill in
"""
import ast
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from webapp import catalogue  # noqa: E402


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("update", "check", "missing"):
        print(__doc__)
        return 2
    command, files = argv[0], argv[1:]
    paths = {Path(f).resolve().relative_to(catalogue.ROOT).as_posix() for f in files} or None
    if command == "update":
        total, missing = catalogue.update()
        print(f"{catalogue.relative(catalogue.PO)}: {total} texts, {missing} untranslated")
        return 0
    findings = catalogue.audit(paths, parts=True)
    if command == "missing":
        seen = set()
        for finding in findings:
            if finding.problem.startswith("not translated: "):
                text = ast.literal_eval(finding.problem.removeprefix("not translated: "))
                if text not in seen:
                    seen.add(text)
                    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
                    print(f"#: {finding.where}\nmsgid \"{escaped}\"\nmsgstr \"\"\n")
        return 0
    for finding in findings:
        print(finding)
    print(f"{len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
