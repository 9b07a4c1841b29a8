"""Languages (issue 10.4): the English catalogue is complete, the language follows the user then the browser, and
every page of every role reads in English without a Chinese interface text left (docs/i18n.md)."""
import os
import re

import pytest

from models import User, db
from tests.conftest import DEMO_PASSWORD, login
from webapp import catalogue, i18n

ENGLISH = {"Accept-Language": "en-GB,en;q=0.9"}
ROLES = ("HN1003", "HN1001", "HN1002", "HN0001", "HN0003")


# --- the catalogue ---------------------------------------------------------------------------------------------------

def test_every_text_is_wrapped_and_translated():
    findings = catalogue.audit()
    assert not findings, f"{len(findings)} findings (scripts/i18n.py check):\n" + "\n".join(map(str, findings[:80]))


def test_the_po_file_is_what_update_writes():
    """Texts gone from the code leave the catalogue, new ones enter it: `scripts/i18n.py update` was run."""
    assert catalogue.PO.read_bytes() == catalogue.build(), "run scripts/i18n.py update and commit messages.po"


def test_the_audit_finds_unwrapped_texts(tmp_path):
    template = tmp_path / "page.html"
    template.write_text(
        '<h1>{{ _("巡检") }}</h1>\n<p>未翻译的段落</p>\n<a title="{{ \'井口\' }}">{{ _("共 %(n)s 口", n=3) }}</a>\n'
        "{% trans %}整段{% endtrans %}\n{{ ngettext(\"%(num)s 条\", \"%(num)s 条\", 2) }}\n<b>井站通</b>\n",
        encoding="utf-8",
    )
    found = [str(f) for f in catalogue.audit_template(template)]
    assert len(found) == 2 and ":2:" in found[0] and "未翻译的段落" in found[0] and "'井口'" in found[1], found

    module = tmp_path / "module.py"
    module.write_text(
        '"""模块说明。"""\nfrom flask_babel import gettext, lazy_gettext as _l\n\n'
        'LABELS = {"a": _l("待整改")}\n'
        'DEFAULTS = ["盘根"]  # i18n: data\n'
        'def f(x):\n    """函数说明。"""\n    log.info("给运维看的%s", x)\n'
        '    return gettext("%(x)s 超出范围", x=x), f"{x}漏了", "也漏了", f"{gettext(\'藏起来\')}"\n',
        encoding="utf-8",
    )
    found = [str(f) for f in catalogue.audit_python(module)]
    assert len(found) == 3 and any("'漏了'" in f for f in found) and any("'也漏了'" in f for f in found), found
    assert any("inside an f-string" in f for f in found), found

    script = tmp_path / "page.js"
    script.write_text(
        'import { _ } from "./i18n.js";\n// 注释不算\nshow(_("已同步"));\nshow("没包");\nshow(`模板${x}`);\n'
        'const data = ["示例"]; // i18n: data\nshow(foo_("假的"));\n',
        encoding="utf-8",
    )
    found = [str(f) for f in catalogue.audit_script(script)]
    assert len(found) == 3 and all(any(word in f for f in found) for word in ("没包", "模板", "假的")), found


def test_the_audit_checks_translations(tmp_path, monkeypatch):
    """Placeholders must match, a template's % must be escaped, and an English text must not be left Chinese."""
    template = tmp_path / "t.html"
    template.write_text('{{ _("完成 %(n)s 口", n=1) }}{{ _("率 5%") }}{{ _("不译") }}', encoding="utf-8")
    po = tmp_path / "messages.po"
    po.write_text(
        'msgid "完成 %(n)s 口"\nmsgstr "Done %(count)s"\n\nmsgid "率 5%"\nmsgstr "Rate 5%"\n\n'
        'msgid "不译"\nmsgstr "不译"\n',
        encoding="utf-8",
    )
    monkeypatch.setattr(catalogue, "PO", po)
    monkeypatch.setattr(catalogue, "sources", lambda: {"jinja2.ext:babel_extract": [template]})
    problems = [f.problem for f in catalogue.audit_catalogue()]
    assert any(p.startswith("placeholders differ") for p in problems), problems
    assert any(p.startswith("a bare % in a template text") for p in problems), problems
    assert any(p.startswith("the English still has Chinese") for p in problems), problems


def test_a_changed_catalogue_is_compiled_again(tmp_path, monkeypatch):
    folder = tmp_path / "en" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    po = folder / "messages.po"
    po.write_text('msgid "保存"\nmsgstr "Save"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "TRANSLATIONS", tmp_path)
    i18n.compile_catalogues()
    mo = po.with_suffix(".mo")
    first = mo.read_bytes()
    assert b"Save" in first
    po.write_text('msgid "保存"\nmsgstr "Keep"\n', encoding="utf-8")
    os.utime(po, (mo.stat().st_mtime + 5, mo.stat().st_mtime + 5))
    i18n.compile_catalogues()
    assert b"Keep" in mo.read_bytes() and not list(folder.glob("*.tmp"))


# --- choosing the language -------------------------------------------------------------------------------------------

def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize(
    "header, expected",
    [(None, "zh-CN"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"), ("zh-TW", "zh-CN"),
     ("fr-FR,fr;q=0.9", "zh-CN"), ("fr-FR,en;q=0.5", "en"), ("x" * 5000, "zh-CN"), (";;;q=abc,,", "zh-CN")],
)
def test_logged_out_pages_follow_the_browser(client, header, expected):
    response = client.get("/login", headers={"Accept-Language": header} if header else {})
    assert response.status_code == 200 and html_lang(response) == expected
    if expected == "en":
        assert "Log in" in response.get_data(as_text=True)


def test_the_users_choice_wins_over_the_browser(client):
    login(client, "HN1003")
    assert html_lang(client.get("/me", headers=ENGLISH)) == "en"
    response = client.post("/me/language", data={"language": "zh_CN"}, headers=ENGLISH)
    assert response.status_code == 303
    page = client.get("/me", headers=ENGLISH)
    assert html_lang(page) == "zh-CN" and "语言已更改。" in page.get_data(as_text=True)
    client.post("/me/language", data={"language": "en"})
    page = client.get("/me")
    assert html_lang(page) == "en" and "Language changed." in page.get_data(as_text=True)
    with db.connection_context():
        assert User.get(User.employee_no == "HN1003").language == "en"
    client.post("/me/language", data={"language": ""})  # back to the browser's
    assert html_lang(client.get("/me")) == "zh-CN" and html_lang(client.get("/me", headers=ENGLISH)) == "en"


@pytest.mark.parametrize("value", ["fr", "zh_CN<script>", "e" * 10_000, "../en"])
def test_a_wrong_language_is_refused_and_nothing_changes(client, value):
    login(client, "HN1003")
    response = client.post("/me/language", data={"language": value}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "没有这种语言。" in text and "<script>" not in text.split("</header>")[1].split("没有这种语言")[0]
    with db.connection_context():
        assert User.get(User.employee_no == "HN1003").language == ""


def test_the_language_setting_needs_a_login_and_the_forms_token(client):
    assert client.post("/me/language", data={"language": "en"}).status_code == 302  # to the login page
    login(client, "HN1003")
    assert client.post("/me/language", data={"language": "en"}, csrf=False).status_code in (400, 403)
    with db.connection_context():
        assert User.get(User.employee_no == "HN1003").language == ""


def test_the_scripts_get_their_english_texts(client):
    response = client.get("/i18n/en.js")
    assert response.status_code == 200 and response.mimetype == "application/javascript"
    body = response.get_data(as_text=True)
    assert body.startswith("globalThis.JZ_MESSAGES = {") and '"已全部同步": "' in body
    messages = i18n.script_messages("en")
    assert "语言已更改。" not in messages  # only what the scripts show
    assert client.get("/i18n/zh_CN.js").status_code == 404 and client.get("/i18n/fr.js").status_code == 404
    assert "/i18n/en.js" in client.get("/sw.js").get_data(as_text=True)  # kept offline with the shell
    login(client, "HN1003")
    assert 'src="/i18n/en.js"' in client.get("/", headers=ENGLISH).get_data(as_text=True)
    assert "/i18n/" not in client.get("/").get_data(as_text=True)  # a Chinese page needs none


# --- every page in English -------------------------------------------------------------------------------------------

def interface_texts() -> list[str]:
    """The catalogue's longer Chinese texts (a short one like 井 could be data too), to look for in English pages."""
    texts = set()
    for message in catalogue.load_po(catalogue.PO):
        text = message.id if isinstance(message.id, str) else (message.id[0] if message.id else "")
        plain = re.sub(r"%\(\w+\)[sd]|%%|<[^>]+>", "\x00", text)
        texts.update(part.strip() for part in plain.split("\x00") if len(catalogue.HAN.findall(part)) >= 4)
    return sorted(texts)


def stored_text() -> str:
    """Every text column of every row: the data, which keeps the language it was written in."""
    from peewee import CharField, TextField

    import models

    parts = []
    for model in models.MODELS:
        columns = [f for f in model._meta.sorted_fields if isinstance(f, (CharField, TextField))]
        if columns:
            parts += ["\n".join(str(v) for v in row if v) for row in model.select(*columns).tuples()]
    return "\n".join(parts)


def test_every_page_of_every_role_reads_in_english(app):
    """The pages of the accessibility walk, opened by each role in English: nothing fails to render (a bad % or a
    lazy text in the wrong place would), and no interface text of the catalogue is left in Chinese."""
    if app.config["BACKEND"] != "sqlite":
        pytest.skip("the language of a page does not depend on the database")
    from tests.e2e.test_accessibility import demo_objects, page_urls

    with app.app_context(), db.connection_context():
        urls = [url for url, _drawn in page_urls(app, demo_objects(app, days=2))]
        stored = stored_text()
    # A catalogue text that is also stored data (a seeded rule's name, an activity titled 主题党日) may show as data.
    texts = [text for text in interface_texts() if text not in stored]
    assert len(texts) > 800
    left, opened = [], 0
    for employee_no in ROLES:
        client = app.test_client()
        assert login(client, employee_no, DEMO_PASSWORD, ).status_code == 302
        for url in urls:
            response = client.get(url, headers=ENGLISH)
            assert response.status_code < 500, f"{employee_no} {url}: {response.status_code}"
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            opened += 1
            page = response.get_data(as_text=True)
            left += [f"{employee_no} {url}: {text}" for text in texts if text in page]
    assert opened > 100
    assert not left, "\n".join(left[:60])
