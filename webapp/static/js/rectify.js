// rectify.js — the assignee's rectification of a hazard, recorded at the well (offline too) with an
// "after" photo; the visit's proof (the label scanned or the tag tapped, evidence.js) shows being there.
import { _ } from "./i18n.js";
import { locate, visitEvidence } from "./evidence.js";
import { saveRecord } from "./outbox.js";
import { photoPicker } from "./photo.js";

const forms = document.querySelectorAll("[data-rectify-form]");
if (forms.length) locate();
for (const form of forms) {
  const photos = photoPicker(form.querySelector("[data-rectify-photo]"), form.querySelector("[data-rectify-previews]"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const note = form.querySelector("textarea").value.trim();
    const error = form.querySelector("[data-form-error]");
    const problem = !note ? _("请写明整改做了什么。") : !photos.length ? _("请拍整改后照片。") : "";
    error.textContent = problem;
    error.hidden = !problem;
    if (problem) return;
    try {
      await saveRecord(
        "hazard_step",
        {
          hazard_uuid: form.dataset.hazardUuid,
          action: "rectify",
          note,
          photos: [...photos],
          ...visitEvidence(form.dataset.wellId),
        },
        { well_code: form.dataset.wellCode, what: _("隐患整改") }
      );
      form.replaceChildren(Object.assign(document.createElement("p"), { className: "saved", textContent: _("✔ 整改已保存，联网后提交验收。") }));
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    }
  });
}
