// evidence.js — how a visit to a well is proven, for every record made there (docs/evidence.md §1): read from the
// page's own address — /w/<token> a scanned QR label, /n/<id>?e=…&c=… a tapped NFC tag, anything else typed or
// chosen — never from the page's HTML (the offline copy of a well page, kept by id, serves all three). The well page
// remembers its visit for VISIT_MS, so the pages reached from it (check, hazard) carry the same proof without the
// token in their address. And the phone's GPS position, which goes with every record.

const LABEL_PATH = /^\/w\/([A-Za-z0-9_-]{1,64})$/;
const TAG_PATH = /^\/n\/(\d{1,15})$/;
// A tag's SUN message: e is 16 bytes, c 8, in hex. Anything else is no read of a tag (the server would refuse it).
const SUN_E = /^[0-9A-Fa-f]{32}$/;
const SUN_C = /^[0-9A-Fa-f]{16}$/;
export const VISIT_MS = 30 * 60 * 1000;
const VISIT_KEY = "jingzhan-visit";

let position = null;
let locating = false;

/** Ask the phone where it is (once a page); the latest answer goes with every record made on the page. */
export function locate() {
  if (locating || !navigator.geolocation) return;
  locating = true;
  navigator.geolocation.getCurrentPosition(
    (p) => {
      position = { latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy: Math.round(p.coords.accuracy) };
    },
    () => {}, // no position: the server flags the record no_gps
    { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 }
  );
}

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;
const MANUAL = Object.freeze({ method: "manual" });

/** A proof as it may be sent: {method: "scan", qr_token}, {method: "nfc", nfc: {e, c}}, or {method: "manual"} for
 * anything malformed (a damaged tag's address, a tampered storage): nothing the server would refuse outright. */
function wellFormed(proof) {
  if (proof.method === "scan" && typeof proof.qr_token === "string" && TOKEN.test(proof.qr_token)) {
    return { method: "scan", qr_token: proof.qr_token };
  }
  const { e, c } = (proof.method === "nfc" && proof.nfc) || {};
  if (typeof e === "string" && typeof c === "string" && SUN_E.test(e) && SUN_C.test(c)) return { method: "nfc", nfc: { e, c } };
  return MANUAL;
}

/** The proof an address carries for a well: a label's token, a tag's {e, c}, manual for a typed 井号 (?via=manual)
 * or a tag's address that is no good read, and null when it says nothing (a page reached from the well page). */
export function evidenceInAddress(address, wellId) {
  const url = new URL(address, location.href);
  if (url.origin !== location.origin || url.searchParams.get("via") === "manual") return MANUAL;
  const label = LABEL_PATH.exec(url.pathname);
  if (label) return wellFormed({ method: "scan", qr_token: label[1] });
  const tag = TAG_PATH.exec(url.pathname);
  if (!tag) return null;
  if (wellId !== undefined && Number(tag[1]) !== Number(wellId)) return MANUAL;
  return wellFormed({ method: "nfc", nfc: { e: url.searchParams.get("e"), c: url.searchParams.get("c") } });
}

/** Remember the proof of the current visit to a well (one visit at a time: a visit to another well ends it). The
 * time is that of the scan or tap: reopening the same address does not make it younger. */
export function rememberVisit(wellId, evidence) {
  const proof = wellFormed(evidence);
  const previous = rememberedVisit(wellId);
  const at = previous && JSON.stringify(wellFormed(previous)) === JSON.stringify(proof) ? previous.at : Date.now();
  try {
    sessionStorage.setItem(VISIT_KEY, JSON.stringify({ well_id: Number(wellId), at, ...proof }));
  } catch {
    // no session storage (private mode, full): the pages reached from the well page count as typed
  }
}

/** The remembered visit to this well, {method, qr_token?, nfc?, at}, when it is younger than VISIT_MS, else null. */
function rememberedVisit(wellId) {
  let visit;
  try {
    visit = JSON.parse(sessionStorage.getItem(VISIT_KEY) || "null");
  } catch {
    return null;
  }
  if (!visit || typeof visit !== "object" || visit.well_id !== Number(wellId)) return null;
  const age = Date.now() - Number(visit.at);
  if (!(age >= 0 && age < VISIT_MS)) return null; // older, or the clock was set back: no proof
  return { ...wellFormed(visit), at: visit.at };
}

/** What a record made at this well carries (docs/evidence.md §1): method, qr_token (scan), nfc (nfc), position. */
export function visitEvidence(wellId) {
  let proof = evidenceInAddress(location.href, wellId);
  if (proof) rememberVisit(wellId, proof);
  else proof = rememberedVisit(wellId) || { method: "manual" };
  return {
    method: proof.method,
    ...(proof.method === "scan" ? { qr_token: proof.qr_token } : {}),
    ...(proof.method === "nfc" ? { nfc: { e: proof.nfc.e, c: proof.nfc.c } } : {}),
    ...(position ? { position: { ...position } } : {}),
  };
}

/** On the well page: remember this visit and show how the well was found (the kept copy was made as a typed visit). */
export function showVisit(wellId) {
  const { method } = visitEvidence(wellId);
  for (const banner of document.querySelectorAll("[data-visit-banner]")) banner.hidden = banner.dataset.visitBanner !== method;
  const notice = document.querySelector("[data-manual-notice]");
  if (notice) notice.hidden = method !== "manual";
  return method;
}

/** Where there is no well (a station's equipment, a hazard at the station, an activity): the position only. */
export function placeEvidence() {
  return position ? { position: { ...position } } : {};
}

/** webapp/labels.py label_hash (and sw.js): the first 32 hex digits of sha256("jingzhan-label:" + token); null where
 * the browser has no WebCrypto (not a secure context). */
export async function labelHash(token) {
  if (!globalThis.crypto || !crypto.subtle) return null;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`jingzhan-label:${token}`));
  return Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}
