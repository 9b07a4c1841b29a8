"""The English catalogue's upkeep: extract the texts, merge them into the `.po`, and audit what was missed.

`scripts/i18n.py` is the command line (`make translations`); `tests/test_i18n.py` runs `audit()` and fails on any
finding, so a Chinese text written into a template, a Python message or a script without a gettext call — or one
wrapped but not translated — fails the suite.

A Chinese literal that is data, not interface (seeded check items, demo names, logs for the operator), is marked
`i18n: data` in a comment on the line where its statement starts (Python, JavaScript) or is in DATA_MODULES.
"""
import ast
import io
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.pofile import read_po, write_po
from jinja2 import Environment, TemplateSyntaxError

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "webapp" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
# Translations being written, merged into PO by `update` (working files, never committed).
PARTS = ROOT / ".i18n-parts"

KEYWORDS = dict(DEFAULT_KEYWORDS, lazy_gettext=None, _l=None, lazy_ngettext=(1, 2))
GETTEXT_CALLS = {"_", "gettext", "ngettext", "lazy_gettext", "_l", "lazy_ngettext", "pgettext"}
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]")
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Modules whose Chinese is data or an operator's tool, not the interface a user reads in the browser.
DATA_MODULES = {
    "webapp/demo.py",  # the demo work area's names, wells and records
    "webapp/generator.py",  # generated history (benchmarks, screenshots)
    "webapp/common_passwords.py",
    "webapp/cli.py",  # the server command line: an operator's tool, in Chinese (docs/decisions.md)
    "webapp/migrations.py",  # step names and seeded rows
    "webapp/catalogue.py",
}
# Words that stay as they are in every language: the product's name and the language menu's own name for Chinese.
UNTRANSLATED = re.compile("井站通|中文")
MARKER = "i18n: data"
STAMP = datetime(2026, 11, 26, tzinfo=timezone.utc)  # fixed, so that the .po changes only when a text does
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]|%[sd]")


def sources() -> dict[str, list[Path]]:
    """The files whose texts go into the catalogue, by extraction method."""
    return {
        "python": [ROOT / "models.py", *sorted((ROOT / "webapp").glob("*.py")), *sorted((ROOT / "routes").glob("*.py"))],
        "jinja2.ext:babel_extract": sorted((ROOT / "webapp" / "templates").rglob("*.html")),
        "javascript": sorted((ROOT / "webapp" / "static" / "js").glob("*.js")) + [ROOT / "webapp" / "static" / "sw.js"],
    }


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()


def extract() -> Catalog:
    """Every wrapped text in the code, with where it is used."""
    catalogue = Catalog(
        locale="en", project="jingzhan", version="1", copyright_holder="井站通", charset="utf-8", fuzzy=False,
        creation_date=STAMP, revision_date=STAMP, last_translator="井站通", language_team="English",
    )
    options = {"jinja2.ext:babel_extract": {"extensions": "jinja2.ext.i18n", "newstyle_gettext": "true"}}
    for method, paths in sources().items():
        for path in paths:
            if relative(path) in DATA_MODULES:
                continue
            for lineno, message, _comments, context in extract_from_file(
                method, path, keywords=KEYWORDS, options=options.get(method)
            ):
                ids = message if isinstance(message, tuple) else (message,)
                if not ids[0]:
                    continue
                catalogue.add(message, locations=[(relative(path), lineno)], context=context)
    return catalogue


def load_po(path: Path) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale="en")


def known_translations(parts: bool = True) -> dict[tuple, object]:
    """What is translated already: the `.po`, then the working parts (a part fills only what is still empty)."""
    found = {}
    for path in [PO, *(sorted(PARTS.glob("*.po")) if parts else [])]:
        if not path.exists():
            continue
        for message in load_po(path):
            if message.id and message.string and not message.fuzzy:
                key = message.id if isinstance(message.id, str) else message.id[0]
                found.setdefault(key, message.string)
    return found


def _translated() -> tuple[Catalog, int]:
    """The catalogue of the code with the known translations filled in, and how many texts have none."""
    extracted = extract()
    known = known_translations()
    missing = 0
    for message in extracted:
        if not message.id:
            continue
        translation = known.get(message.id if isinstance(message.id, str) else message.id[0])
        if translation is None:
            missing += 1
        else:
            message.string = translation
    return extracted, missing


def render(catalogue: Catalog) -> bytes:
    buffer = io.BytesIO()
    # Files without line numbers: moving a text within its file does not change the catalogue.
    write_po(buffer, catalogue, width=120, sort_output=False, sort_by_file=True, omit_header=False, include_lineno=False)
    return buffer.getvalue()


def build() -> bytes:
    """The `.po` that `update` writes (the completeness test compares it with the file)."""
    return render(_translated()[0])


def update() -> tuple[int, int]:
    """Rewrite the `.po` from the code: new texts added, gone texts dropped, translations kept. (total, missing)"""
    catalogue, missing = _translated()
    PO.parent.mkdir(parents=True, exist_ok=True)
    PO.write_bytes(render(catalogue))
    return len(catalogue), missing


@dataclass(frozen=True)
class Finding:
    where: str
    problem: str

    def __str__(self):
        return f"{self.where}: {self.problem}"


def _chinese(text: str) -> bool:
    """Whether a text has Chinese besides the words that stay Chinese in every language."""
    return bool(HAN.search(UNTRANSLATED.sub("", text)))


def _placeholders(text: str) -> list[str]:
    return sorted(PLACEHOLDER.findall(text.replace("%%", "")))


def audit_catalogue(paths: set[str] | None = None, parts: bool = False) -> list[Finding]:
    """Each wrapped text has an English translation with the same placeholders (and templates' `%` is escaped)."""
    known = known_translations(parts)  # the test judges messages.po alone, as CI has no working parts
    findings = []
    for message in extract():
        if not message.id:
            continue
        where = f"{message.locations[0][0]}:{message.locations[0][1]}"
        if paths is not None and not any(path in paths for path, _line in message.locations):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        translation = known.get(ids[0])
        if translation is None:
            findings.append(Finding(where, f"not translated: {ids[0]!r}"))
            continue
        strings = translation if isinstance(translation, tuple) else (translation,)
        if _chinese(strings[0]):
            findings.append(Finding(where, f"the English still has Chinese: {strings[0]!r}"))
        if _placeholders(ids[0]) != _placeholders(strings[0]):
            findings.append(Finding(where, f"placeholders differ: {ids[0]!r} → {strings[0]!r}"))
        in_template = any(path.endswith(".html") for path, _line in message.locations)
        if in_template and "%" in re.sub(r"%\(\w+\)[sd]|%%", "", ids[0] + strings[0]):
            findings.append(Finding(where, f"a bare % in a template text (write %%): {ids[0]!r}"))
    return findings


def _data_lines(source: str, comment: str) -> set[int]:
    return {number for number, line in enumerate(source.splitlines(), 1) if comment in line and MARKER in line}


def audit_python(path: Path) -> list[Finding]:
    """Chinese string literals in Python that no gettext call wraps (docstrings and `i18n: data` lines aside)."""
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    marked = _data_lines(source, "#")
    exempt: set[int] = set()  # ids of constant nodes that are fine
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                exempt.add(id(first.value))
        if isinstance(node, ast.stmt) and node.lineno in marked:
            exempt.update(id(child) for child in ast.walk(node))
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in GETTEXT_CALLS:
                exempt.update(id(child) for arg in node.args[:2] for child in ast.walk(arg))
            elif isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) and (
                node.func.value.id in ("log", "logger", "logging")
            ):
                exempt.update(id(child) for arg in node.args for child in ast.walk(arg))  # the operator's log
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):  # babel skips a call inside an f-string: its text would never be translated
            for child in ast.walk(node):
                if isinstance(child, ast.Call) and getattr(child.func, "id", getattr(child.func, "attr", "")) in GETTEXT_CALLS:
                    findings.append(Finding(f"{relative(path)}:{child.lineno}", "a gettext call inside an f-string"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt:
            text = node.value
            if _chinese(text):
                findings.append(Finding(f"{relative(path)}:{node.lineno}", f"untranslated text {text[:60]!r}"))
    return findings


_JINJA = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only lexes templates, never renders


def audit_template(path: Path) -> list[Finding]:
    """Chinese in a template outside `_()`/`{% trans %}`: text between tags, and string literals in expressions."""
    source = path.read_text(encoding="utf-8")
    findings = []
    try:
        tokens = list(_JINJA.lex(source))
    except TemplateSyntaxError as error:
        return [Finding(f"{relative(path)}:{error.lineno}", f"template does not parse: {error}")]
    in_trans = False
    previous: list[tuple[str, str]] = []
    for lineno, kind, value in tokens:
        if kind == "name" and value == "trans" and previous and previous[-1][0] == "block_begin":
            in_trans = True
        elif kind == "name" and value == "endtrans":
            in_trans = False
        elif kind == "data" and not in_trans:
            for line_offset, line in enumerate(value.split("\n")):
                if _chinese(line) and MARKER not in line:
                    findings.append(Finding(f"{relative(path)}:{lineno + line_offset}", f"untranslated text {line.strip()[:60]!r}"))
        elif kind == "string" and _chinese(value) and not in_trans:
            wrapped = (
                len(previous) >= 2 and previous[-1] == ("operator", "(") and previous[-2][0] == "name"
                and previous[-2][1] in GETTEXT_CALLS
            ) or (  # ngettext's plural
                len(previous) >= 4 and previous[-1] == ("operator", ",") and previous[-2][0] == "string"
                and previous[-3] == ("operator", "(") and previous[-4][1] in ("ngettext",)
            )
            if not wrapped:
                findings.append(Finding(f"{relative(path)}:{lineno}", f"untranslated literal {value[:60]!r}"))
        if kind not in ("whitespace",):
            previous.append((kind, value))
            previous = previous[-4:]
    return findings


_JS_TOKEN = re.compile(
    r"""//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'|`(?:\\.|[^`\\])*`""", re.S
)


def audit_script(path: Path) -> list[Finding]:
    """Chinese string literals in a script that are not the first argument of `_(…)` (`i18n: data` lines aside)."""
    source = path.read_text(encoding="utf-8")
    marked = _data_lines(source, "//")
    findings = []
    for match in _JS_TOKEN.finditer(source):
        token = match.group(0)
        if token.startswith(("//", "/*")) or not _chinese(token):
            continue
        lineno = source.count("\n", 0, match.start()) + 1
        if lineno in marked:
            continue
        before = source[: match.start()].rstrip()
        if before.endswith("_(") and not before[:-2][-1:].isidentifier() and not token.startswith("`"):
            continue
        findings.append(Finding(f"{relative(path)}:{lineno}", f"untranslated literal {token[:60]!r}"))
    return findings


def audit_sources(paths: set[str] | None = None) -> list[Finding]:
    findings = []
    auditors = {"python": audit_python, "jinja2.ext:babel_extract": audit_template, "javascript": audit_script}
    for method, files in sources().items():
        for path in files:
            name = relative(path)
            if name in DATA_MODULES or (paths is not None and name not in paths):
                continue
            findings += auditors[method](path)
    return findings


def audit(paths: set[str] | None = None, parts: bool = False) -> list[Finding]:
    """Everything the completeness test checks, optionally for some files only and counting the working parts
    as translated (`scripts/i18n.py check`, while translations are being written)."""
    return audit_sources(paths) + audit_catalogue(paths, parts)
