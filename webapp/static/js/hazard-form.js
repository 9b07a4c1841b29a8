// hazard-form.js — reporting a hazard on its own: saved into the outbox with its photos (offline too), with the
// proof of the visit when the well is the one just scanned or tapped (evidence.js) and the GPS position.
import { _ } from "./i18n.js";
import { locate, placeEvidence, visitEvidence } from "./evidence.js";
import { recordState, saveRecord } from "./outbox.js";
import { photoPicker } from "./photo.js";

const form = document.querySelector("[data-hazard-form]");

let following = null;

/** Say what became of the report: kept on the phone, sent, or refused — and keep saying it as the outbox syncs. */
function follow(record) {
  const saved = form.querySelector("[data-saved]");
  const show = async () => {
    const state = await recordState(record.uuid);
    saved.textContent = {
      pending: _("✔ 隐患已保存在手机上，联网后自动上报。"),
      rejected: _("隐患被服务器退回，请到“记录”查看原因。"),
    }[state] || _("✔ 隐患已上报到服务器。");
    saved.dataset.state = state || "synced";
    saved.hidden = false;
  };
  if (following) document.removeEventListener("outbox:change", following);
  following = show;
  document.addEventListener("outbox:change", show);
  return show();
}

if (form) {
  locate();
  const place = form.querySelector("#h-place");
  const wellParam = new URLSearchParams(location.search).get("well");
  if (wellParam) place.value = wellParam;
  const photos = photoPicker(form.querySelector("[data-hazard-photo]"), form.querySelector("[data-hazard-previews]"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const description = form.querySelector("#h-description");
    const error = form.querySelector("#h-description-error");
    const text = description.value.trim();
    error.textContent = text ? "" : _("请描述隐患。");
    error.hidden = Boolean(text);
    description.setAttribute("aria-invalid", String(!text));
    if (!text) {
      description.focus();
      return;
    }
    const option = place.selectedOptions[0];
    try {
      const wellId = place.value ? Number(place.value) : null;
      const record = await saveRecord(
        "hazard",
        {
          well_id: wellId,
          // At a well: how it was found (a well chosen from the list, not the one just visited, counts as typed).
          ...(wellId ? visitEvidence(wellId) : placeEvidence()),
          description: text,
          severity: form.querySelector("input[name=severity]:checked").value,
          photos: [...photos],
        },
        { well_code: option && option.dataset.code ? option.dataset.code : "", what: _("隐患") }
      );
      follow(record);
      description.value = "";
      photos.length = 0;
      form.querySelector("[data-hazard-previews]").replaceChildren();
    } catch (err) {
      const formError = form.querySelector("[data-form-error]");
      formError.textContent = err.message;
      formError.hidden = false;
    }
  });
}
