// photo.js — photos on the phone: compressed and re-encoded before they are queued (long side ≤ 1600 px,
// JPEG, about 200 KB at most; drawing on a canvas also drops the camera's EXIF, GPS included), and a
// small picker that shows what was taken.
import { _ } from "./i18n.js";
import { photoBlob, savePhoto } from "./outbox.js";

const LONG_SIDE = 1600;
const MAX_BYTES = 200 * 1024;

function toBlob(canvas, quality) {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
}

/** A camera file made small enough to queue and send over a weak signal. */
export async function compressPhoto(file) {
  const bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  let side = LONG_SIDE;
  let blob = null;
  // Lower the quality first; a photo still too big (fine texture) is made smaller too.
  while (side >= 640) {
    const scale = Math.min(1, side / Math.max(bitmap.width, bitmap.height));
    const canvas = document.createElement("canvas");
    canvas.width = Math.round(bitmap.width * scale);
    canvas.height = Math.round(bitmap.height * scale);
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    for (const quality of [0.82, 0.72, 0.62, 0.52]) {
      blob = await toBlob(canvas, quality);
      if (blob.size <= MAX_BYTES) {
        bitmap.close();
        return blob;
      }
    }
    side = Math.round(side * 0.8);
  }
  bitmap.close();
  return blob;
}

/** Wire a file input (capture=environment) to the outbox: each photo taken is compressed, saved, previewed. */
export function photoPicker(input, previews, onChange = () => {}) {
  const uuids = [];
  input.addEventListener("change", async () => {
    for (const file of Array.from(input.files)) {
      try {
        const uuid = await savePhoto(await compressPhoto(file));
        uuids.push(uuid);
        const img = document.createElement("img");
        img.alt = _("照片 %(number)s", { number: uuids.length });
        img.src = URL.createObjectURL(await photoBlob(uuid));
        img.className = "photo-preview";
        previews.append(img);
      } catch (error) {
        const message = document.createElement("p");
        message.className = "field-error";
        message.textContent = error.message || _("照片未保存。");
        previews.append(message);
      }
    }
    input.value = "";
    onChange(uuids);
  });
  return uuids;
}
