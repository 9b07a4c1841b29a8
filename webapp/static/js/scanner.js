// scanner.js — live QR scanning from the camera: startScanner(video, onCode). Uses the browser's
// BarcodeDetector where there is one, else the vendored jsQR, loaded only then — in a worker (qr-worker.js), or on
// the page where workers fail: a phone with a detector never downloads it for the page (the service worker still
// keeps it, for offline); also decodes a photo.
import { _ } from "./i18n.js";

const FRAME_MS = 120;
// Frames are read at these widths in turn: a label held up to the camera reads at the small one, a quarter of the
// pixels to go through; a label further away at the large one.
const WIDTHS = [320, 640];
const JSQR_URL = "/static/vendor/jsQR-1.4.0-nokanji.min.js";
const WORKER_URL = "/static/js/qr-worker.js";

function loadJsQR() {
  if (window.jsQR) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const script = Object.assign(document.createElement("script"), { src: JSQR_URL });
    script.onload = resolve;
    script.onerror = () => reject(new Error(_("无法加载二维码识别程序，请刷新页面再试。")));
    document.head.append(script);
  });
}

let decoderPromise = null;

/** The decoder, made once: loading jsQR (47 KB to parse, in its worker) overlaps the camera's start instead of
 * following it. */
function decoder() {
  if (!decoderPromise) decoderPromise = makeDecoder();
  return decoderPromise;
}

/** Whether the browser's own detector reads QR codes: on a phone without Google's services the API can be there
 * and read nothing (its formats list is empty), and a camera that never finds a code would leave jsQR unused. */
async function detectorReadsQR() {
  if (!("BarcodeDetector" in window)) return false;
  try {
    return (await window.BarcodeDetector.getSupportedFormats()).includes("qr_code");
  } catch {
    return false;
  }
}

async function makeDecoder() {
  if (await detectorReadsQR()) {
    const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    return async (source) => {
      const codes = await detector.detect(source);
      return codes.length ? codes[0].rawValue : null;
    };
  }
  const read = readerOffThePage() || (await readerOnThePage());
  const canvas = document.createElement("canvas");
  const context = canvas.getContext("2d", { willReadFrequently: true });
  return async (source, maxWidth) => {
    const width = source.videoWidth || source.naturalWidth || source.width;
    const height = source.videoHeight || source.naturalHeight || source.height;
    if (!width || !height) return null;
    const scale = Math.min(1, maxWidth / width);
    canvas.width = Math.round(width * scale);
    canvas.height = Math.round(height * scale);
    context.drawImage(source, 0, 0, canvas.width, canvas.height);
    return read(context.getImageData(0, 0, canvas.width, canvas.height));
  };
}

/** jsQR in a worker (qr-worker.js): image → Promise of the text or null; null where workers cannot be made. A
 * worker that fails later (its script not loaded) hands the reading to the page's own jsQR. */
function readerOffThePage() {
  let worker;
  try {
    worker = new Worker(WORKER_URL);
  } catch {
    return null;
  }
  const waiting = new Map();
  let next = 0;
  let fallback = null;
  worker.onmessage = ({ data }) => {
    const resolve = waiting.get(data.id);
    waiting.delete(data.id);
    if (resolve) resolve(data.text);
  };
  worker.onerror = (event) => {
    event.preventDefault();
    worker.terminate();
    fallback = readerOnThePage();
    for (const resolve of waiting.values()) resolve(null);
    waiting.clear();
  };
  return async (image) => {
    if (fallback) return (await fallback)(image);
    return new Promise((resolve) => {
      const id = next++;
      waiting.set(id, resolve);
      worker.postMessage({ id, pixels: image.data.buffer, width: image.width, height: image.height }, [image.data.buffer]);
    });
  };
}

/** jsQR on the page's thread: loaded once, then image → the text or null. */
async function readerOnThePage() {
  await loadJsQR();
  return async (image) => {
    const code = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
    return code ? code.data : null;
  };
}

/** Decode a QR code from a photo file (for phones that refuse live video). */
export async function decodeFile(file) {
  const bitmap = await createImageBitmap(file);
  const canvas = document.createElement("canvas");
  const scale = Math.min(1, 1280 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  return (await decoder())(canvas, canvas.width);
}

/** Show the back camera in video and call onCode(text) for the first QR code seen. */
export async function startScanner(video, onCode, { deviceId = null } = {}) {
  const constraints = deviceId
    ? { video: { deviceId: { exact: deviceId } }, audio: false }
    : { video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } }, audio: false };
  const decoding = decoder();
  decoding.catch(() => {}); // its failure is reported below, once the camera is on
  const stream = await navigator.mediaDevices.getUserMedia(constraints);
  video.srcObject = stream;
  video.setAttribute("playsinline", "");
  video.muted = true;
  await video.play();
  const decode = await decoding;
  const track = stream.getVideoTracks()[0];
  let stopped = false; // the camera is off
  let paused = false; // a code was handed to onCode: no more tries until resume()
  let timer = null;
  let tries = 0;

  // The first try as soon as the camera shows a frame (not a whole FRAME_MS after a try on an empty video), then
  // one every FRAME_MS: a phone's CPU is shared with the page.
  function next(delay) {
    if (video.readyState < 2 && "requestVideoFrameCallback" in video) video.requestVideoFrameCallback(() => tick());
    else timer = setTimeout(tick, video.readyState < 2 ? 20 : delay);
  }

  async function tick() {
    if (stopped) return;
    try {
      const text = video.readyState >= 2 ? await decode(video, WIDTHS[tries++ % WIDTHS.length]) : null;
      if (text && !stopped) {
        paused = true;
        onCode(text);
        return;
      }
    } catch (error) {
      console.warn("decode", error);
    }
    if (!stopped) next(FRAME_MS);
  }
  tick();

  const capabilities = track.getCapabilities ? track.getCapabilities() : {};
  return {
    torchSupported: Boolean(capabilities.torch),
    deviceId: track.getSettings ? track.getSettings().deviceId : null,
    async setTorch(on) {
      await track.applyConstraints({ advanced: [{ torch: on }] });
    },
    resume() {
      // After a code that led nowhere (another unit's label, a void one): look again. Before, the flag it tested was
      // the camera's, never set here, so the scanner stayed still until the page was opened again.
      if (stopped || !paused) return;
      paused = false;
      tick();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
      stream.getTracks().forEach((t) => t.stop());
      video.srcObject = null;
    },
  };
}

/** The cameras of the phone, to switch between them. */
export async function cameras() {
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === "videoinput");
}
