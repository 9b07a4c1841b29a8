// i18n.js — the scripts' texts in the page's language (issue 10.4; webapp/i18n.py).
// Texts are written in Chinese, wrapped in _(): on a Chinese page they are shown as they are; on an English page
// /i18n/en.js (loaded by base.html before any module) has set globalThis.JZ_MESSAGES, the catalogue's translations.
// Placeholders are Python-style, as in the rest of the catalogue: _("%(count)s 条待同步", { count: 3 }).
export function _(text, params) {
  const messages = globalThis.JZ_MESSAGES || {};
  const translated = Object.hasOwn(messages, text) ? messages[text] : text;
  if (!params) return translated;
  return translated.replace(/%\((\w+)\)[sd]|%%/g, (whole, name) =>
    name === undefined ? "%" : Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}
