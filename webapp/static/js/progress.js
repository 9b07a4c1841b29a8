// progress.js — a 践诺记录 (commitment progress) saved into the outbox with an optional photo (offline too).
import { _ } from "./i18n.js";
import { saveRecord } from "./outbox.js";
import { photoPicker } from "./photo.js";

const form = document.querySelector("[data-progress-form]");

if (form) {
  const photos = photoPicker(form.querySelector("[data-progress-photo]"), form.querySelector("[data-progress-previews]"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = form.querySelector("[name=text]").value.trim();
    const quantityInput = form.querySelector("[name=quantity]");
    const quantity = quantityInput && quantityInput.value !== "" ? Number(quantityInput.value) : null;
    const error = form.querySelector("[data-form-error]");
    const problem = !text ? _("请写明做了什么。") : quantity !== null && (!Number.isFinite(quantity) || quantity < 0) ? _("完成数量应为不小于 0 的数字。") : "";
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) return;
    try {
      await saveRecord(
        "commitment_progress",
        { commitment_id: Number(form.dataset.commitmentId), text, quantity, photos: [...photos] },
        { what: _("践诺记录") }
      );
      const saved = form.querySelector("[data-saved]");
      saved.textContent = _("✔ 践诺记录已保存，联网后自动同步。");
      saved.hidden = false;
      form.querySelector("[name=text]").value = "";
      if (quantityInput) quantityInput.value = "";
      photos.length = 0;
      form.querySelector("[data-progress-previews]").replaceChildren();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}
