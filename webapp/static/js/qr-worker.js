// qr-worker.js — reads QR codes with the vendored jsQR off the page's thread: a camera frame's pixels come in, the
// code's text (or null) goes out. On a slow phone jsQR's first read is ~100 ms of CPU; here it does not hold up the
// page, which meanwhile shows the camera (and, once a label is read, opens the well page).
/* global jsQR */
importScripts("/static/vendor/jsQR-1.4.0-nokanji.min.js");

self.onmessage = ({ data }) => {
  let text = null;
  try {
    const code = jsQR(new Uint8ClampedArray(data.pixels), data.width, data.height, { inversionAttempts: "attemptBoth" });
    text = code ? code.data : null;
  } catch {
    // an unreadable frame reads as none
  }
  self.postMessage({ id: data.id, text });
};
