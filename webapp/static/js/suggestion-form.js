// suggestion-form.js — a 合理化建议 saved into the outbox (offline too) and sent to the branch when online.
import { _ } from "./i18n.js";
import { recordState, saveRecord } from "./outbox.js";

const form = document.querySelector("[data-suggestion-form]");

function check(input, message) {
  const error = document.getElementById(input.getAttribute("aria-describedby"));
  error.textContent = message;
  error.hidden = !message;
  input.setAttribute("aria-invalid", String(Boolean(message)));
  return !message;
}

async function showSaved(record) {
  const saved = form.querySelector("[data-saved]");
  const state = await recordState(record.uuid);
  const text = { pending: _("已保存在手机上，联网后自动提交"), rejected: _("被服务器拒收，请到“记录”查看原因") }[state] || _("已提交支部");
  saved.textContent = _("✔ 建议“%(title)s”%(state)s。", { title: record.data.title, state: text });
  saved.dataset.state = state || "synced";
  saved.hidden = false;
}

if (form) {
  const title = form.querySelector("#s-title");
  const body = form.querySelector("#s-body");
  const formError = form.querySelector("[data-form-error]");
  let follow = null;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const okBody = check(body, body.value.trim() ? "" : _("请写明建议内容：现状、建议怎么做、预期效果。"));
    const okTitle = check(title, title.value.trim() ? "" : _("请写明建议标题。"));
    if (!okTitle || !okBody) {
      (okTitle ? body : title).focus();
      return;
    }
    formError.hidden = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const record = await saveRecord("suggestion", { title: title.value.trim(), body: body.value.trim() }, { what: _("合理化建议") });
      form.reset();
      if (follow) document.removeEventListener("outbox:change", follow);
      follow = () => showSaved(record);
      document.addEventListener("outbox:change", follow);
      await showSaved(record);
    } catch (error) {
      formError.textContent = error.message;
      formError.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
}
