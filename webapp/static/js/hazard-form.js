// hazard-form.js — reporting a hazard on its own: saved into the outbox with its photos (offline too).
import { saveRecord } from "./outbox.js";
import { photoPicker } from "./photo.js";

const form = document.querySelector("[data-hazard-form]");

if (form) {
  const place = form.querySelector("#h-place");
  const wellParam = new URLSearchParams(location.search).get("well");
  if (wellParam) place.value = wellParam;
  const photos = photoPicker(form.querySelector("[data-hazard-photo]"), form.querySelector("[data-hazard-previews]"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const description = form.querySelector("#h-description");
    const error = form.querySelector("#h-description-error");
    const text = description.value.trim();
    error.textContent = text ? "" : "请描述隐患。";
    error.hidden = Boolean(text);
    description.setAttribute("aria-invalid", String(!text));
    if (!text) {
      description.focus();
      return;
    }
    const option = place.selectedOptions[0];
    try {
      await saveRecord(
        "hazard",
        {
          well_id: place.value ? Number(place.value) : null,
          description: text,
          severity: form.querySelector("input[name=severity]:checked").value,
          photos: [...photos],
        },
        { well_code: option && option.dataset.code ? option.dataset.code : "", what: "隐患" }
      );
      const saved = form.querySelector("[data-saved]");
      saved.textContent = "✔ 隐患已保存，联网后自动上报。";
      saved.hidden = false;
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
