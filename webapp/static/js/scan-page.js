// scan-page.js — the 扫码 tab: camera scanning with torch and camera switch, a still-photo fallback, reading a
// wellhead NFC tag where the browser has Web NFC (Chrome on Android), and 井号 entry that works offline from the
// station's well directory (which names labels by their hash only); an activity's check-in code is saved straight
// into the outbox (offline too).
import { _ } from "./i18n.js";
import { evidenceInAddress, labelHash, locate, placeEvidence, rememberVisit } from "./evidence.js";
import { allRecords, currentUserId, saveRecord } from "./outbox.js";
import { cameras, decodeFile, startScanner } from "./scanner.js";

const video = document.querySelector("[data-scan-video]");
const status = document.querySelector("[data-scan-status]");
const torchButton = document.querySelector("[data-torch]");
const switchButton = document.querySelector("[data-switch-camera]");
const photoInput = document.querySelector("[data-scan-photo]");
const manualForm = document.querySelector("[data-manual-form]");
const nfcButton = document.querySelector("[data-nfc-read]");
const nfcHelp = document.querySelector("[data-nfc-native]");
const nfcStatus = document.querySelector("[data-nfc-status]");
const LABEL_PATH = /^\/w\/([A-Za-z0-9_-]{1,64})$/;
const TAG_PATH = /^\/n\/(\d{1,15})$/;
// What is read of a tag: a wellhead tag holds one URL record of about 100 bytes; anything far larger is not ours.
const MAX_TAG_RECORDS = 8;
const MAX_TAG_URL_BYTES = 1024;
const CARD_PATH = /^\/c\/([A-Za-z0-9_-]{16,64})$/;
const ACTIVITY_PATH = /^\/a\/(\d{1,15})\/(\d{1,15})\.([0-9a-f]{12})$/;

let scanner = null;
let torchOn = false;
let cameraList = [];
let cameraIndex = 0;
let directoryPromise = null;

function say(text, kind = "info") {
  status.textContent = text;
  status.dataset.kind = kind;
}

function directory() {
  if (!directoryPromise) {
    directoryPromise = fetch("/api/v1/wells", { credentials: "same-origin", redirect: "manual" })
      .then((r) => (r.ok ? r.json() : { wells: [] }))
      .catch(() => ({ wells: [] }));
  }
  return directoryPromise;
}

function feedback() {
  // Chrome refuses (and logs) vibration and sound before the user has touched the page.
  const touched = !navigator.userActivation || navigator.userActivation.hasBeenActive;
  if (navigator.vibrate && touched) navigator.vibrate(80);
  if (touched && window.AudioContext && localStorage.getItem("jingzhan-sound") !== "off") beep();
}

/** A short high beep (no sound file): heard over a pumping unit, over in a tenth of a second. */
function beep() {
  try {
    const audio = new AudioContext();
    const tone = audio.createOscillator();
    const volume = audio.createGain();
    tone.frequency.value = 1760;
    volume.gain.value = 0.15;
    tone.connect(volume).connect(audio.destination);
    tone.onended = () => audio.close();
    tone.start();
    tone.stop(audio.currentTime + 0.1);
  } catch {
    // no sound on this phone: the vibration and the message are enough
  }
}

// Where a recognised label or tag leads: its well page (the label's or the tag's own address, which is the proof),
// or — to correct a returned record — the patrol form or the equipment check the leader returned (?corrects=<uuid>,
// and ?check=<equipment id> for a check, which takes the proof from the visit remembered here).
function nextPage(wellPage, wellId, params) {
  const corrects = params.get("corrects");
  const equipment = params.get("check");
  if (corrects && equipment) {
    rememberVisit(wellId, evidenceInAddress(wellPage, wellId));
    return `/checks/new?${new URLSearchParams({ equipment, corrects })}`;
  }
  if (!corrects) return wellPage;
  const url = new URL(wellPage, location.origin);
  url.searchParams.set("corrects", corrects);
  return url.pathname + url.search;
}

// The server checks the code against the time of the scan, so a check-in saved offline counts when it syncs.
async function checkIn(url, [, activityId, step, code]) {
  if (!currentUserId()) {
    if (navigator.onLine) location.assign(url.pathname); // the page explains and offers to log in
    else {
      say(_("请先登录井站通，再扫码签到。"), "error");
      resume();
    }
    return;
  }
  let record;
  try {
    record = await saveRecord(
      "attendance",
      { activity_id: Number(activityId), step: Number(step), code, ...placeEvidence() },
      { what: _("活动签到") }
    );
  } catch (error) {
    say(error.message, "error");
    resume();
    return;
  }
  feedback();
  say(_("✔ 已扫描签到码：记录已保存，联网后自动同步。"), "ok");
  const settle = async () => {
    const left = (await allRecords()).find((r) => r.uuid === record.uuid);
    if (left && left.state === "pending") return;
    document.removeEventListener("outbox:change", settle);
    if (left) {
      say(_("签到未成功：%(reason)s", { reason: left.error ? left.error.message : _("被服务器拒收") }), "error");
      resume(); // let the member scan the current code again
    } else say(_("✔ 签到成功，已同步。"), "ok");
  };
  document.addEventListener("outbox:change", settle);
}

async function handleCode(text) {
  let url;
  try {
    url = new URL(text, location.href);
  } catch {
    url = null;
  }
  const card = url && CARD_PATH.exec(url.pathname);
  if (card && url.origin === location.origin) {
    feedback();
    say(_("已识别三亮卡，正在打开…"), "ok");
    location.assign(`/c/${card[1]}`);
    return;
  }
  const activity = url && ACTIVITY_PATH.exec(url.pathname);
  if (activity && url.origin === location.origin) {
    checkIn(url, activity);
    return;
  }
  const match = url && LABEL_PATH.exec(url.pathname);
  if (!match) {
    say(_("这不是井站通的井口标签，请对准井口的二维码标签。"), "error");
    resume();
    return;
  }
  const token = match[1];
  const { wells } = await directory();
  const hash = await labelHash(token);
  const well = hash && wells.find((w) => w.label_hash === hash);
  if (well) {
    feedback();
    say(_("已识别 %(well)s，正在打开…", { well: well.code }), "ok");
    openWell(nextPage(`/w/${token}`, well.id, new URLSearchParams(location.search)));
    return;
  }
  if (url.origin !== location.origin) {
    say(_("这是其他单位（其他作业区）的井口标签，不能在本系统打卡。"), "error");
  } else if (navigator.onLine) {
    feedback();
    location.assign(`/w/${token}`); // the server says whose well it is, or that the label is void
    return;
  } else {
    say(_("本站井目录中没有这个标签：可能是其他站的井，或标签已作废。"), "error");
  }
  resume();
}

function resume() {
  setTimeout(() => scanner && scanner.resume(), 1500);
}

let left = false; // a well page took this document's place: the camera and the NFC reader stay off

/** Open the well page a label or a tag leads to. A well page (/w/…, /n/…) opens in this document: the 扫码 page has
 * loaded the shell's styles and scripts already, and a new document would load and run them again — on a slow phone
 * most of a scan's time (docs/performance.md). Its <main>, title, tab and own modules take the place of this page's;
 * the address is the label's or the tag's (the proof the well page reads); Back reloads 扫码. Anything else, or any
 * surprise on the way (a redirect, another shell), opens the usual way. */
async function openWell(path) {
  const address = path.split("?")[0];
  if (!LABEL_PATH.test(address) && !TAG_PATH.test(address)) {
    location.assign(path);
    return;
  }
  left = true;
  if (scanner) scanner.stop();
  scanner = null;
  stopNfc(nfcRead);
  let next;
  try {
    const response = await fetch(path, { credentials: "same-origin" });
    const html = (response.headers.get("Content-Type") || "").startsWith("text/html");
    if (!response.ok || response.redirected || !html) throw new Error(`${response.status}`);
    next = new DOMParser().parseFromString(await response.text(), "text/html");
    // Every stylesheet and classic script of the page is one this document has (it may have more: jsQR).
    const shell = (doc) => [...doc.head.querySelectorAll("link[rel=stylesheet], script:not([type=module])")]
      .map((e) => e.getAttribute("href") || e.getAttribute("src"));
    const have = new Set(shell(document));
    if (!next.querySelector("main#main") || !shell(next).every((file) => have.has(file))) throw new Error("another shell");
  } catch (error) {
    console.warn("openWell", error);
    location.assign(path);
    return;
  }
  history.pushState(null, "", path);
  window.addEventListener("popstate", () => location.reload(), { once: true });
  document.title = next.title;
  document.body.className = next.body.className;
  document.querySelector("main#main").replaceWith(document.adoptNode(next.querySelector("main#main")));
  const tabs = [...document.querySelectorAll(".tabbar a")];
  const nextTabs = [...next.querySelectorAll(".tabbar a")];
  tabs.forEach((tab, i) => {
    const current = nextTabs[i] && nextTabs[i].getAttribute("aria-current");
    if (current) tab.setAttribute("aria-current", current);
    else tab.removeAttribute("aria-current");
  });
  window.scrollTo(0, 0);
  if (window.htmx) window.htmx.process(document.querySelector("main#main"));
  try {
    for (const script of next.head.querySelectorAll("script[type=module][src]")) {
      await import(new URL(script.getAttribute("src"), location.href).href);
    }
  } catch (error) {
    console.warn("openWell import", error);
    location.reload(); // its scripts did not load: the page as a whole, from the address it now has
  }
}

async function start(deviceId = null) {
  if (scanner) scanner.stop();
  scanner = null;
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say(_("此浏览器不能使用摄像头：请用“拍照识别”或输入井号。"), "error");
    return;
  }
  try {
    scanner = await startScanner(video, handleCode, { deviceId });
    say(_("请把井口二维码放进取景框"));
    torchButton.hidden = !scanner.torchSupported;
    cameraList = await cameras();
    switchButton.hidden = cameraList.length < 2;
  } catch (error) {
    say(_("无法打开摄像头（可能未授权）：请用“拍照识别”或输入井号。"), "error");
  }
}

torchButton.addEventListener("click", async () => {
  torchOn = !torchOn;
  await scanner.setTorch(torchOn).catch(() => say(_("此手机不支持打开手电筒。"), "error"));
  torchButton.setAttribute("aria-pressed", String(torchOn));
});

switchButton.addEventListener("click", () => {
  if (!cameraList.length) return;
  cameraIndex = (cameraIndex + 1) % cameraList.length;
  start(cameraList[cameraIndex].deviceId);
});

photoInput.addEventListener("change", async () => {
  const file = photoInput.files[0];
  if (!file) return;
  say(_("正在识别照片…"));
  const text = await decodeFile(file).catch(() => null);
  photoInput.value = "";
  if (text) handleCode(text);
  else say(_("照片中没有找到二维码，请靠近些、对准后再拍。"), "error");
});

manualForm?.addEventListener("submit", async (event) => {
  const input = manualForm.querySelector("[name=code]");
  const code = input.value.trim();
  if (!code) return; // the server answers with its message
  event.preventDefault();
  const { wells } = await directory();
  const well = wells.find((w) => w.code === code);
  if (well) {
    location.assign(`/wells/${well.id}?via=manual`);
  } else if (navigator.onLine) {
    manualForm.submit(); // the server looks in the whole work area and explains
  } else {
    say(_("本站井目录中没有井号「%(code)s」，请核对后重新输入。", { code }), "error");
  }
});

let nfcRead = null; // the AbortController of the running NFC read

function sayNfc(text, kind = "info") {
  nfcStatus.textContent = text;
  nfcStatus.dataset.kind = kind;
}

/** The URL of an NDEF message's first URL record, or null; only the first few records and short URLs are looked at. */
function tagUrl(message) {
  const records = (message && message.records) || [];
  for (let i = 0; i < Math.min(records.length, MAX_TAG_RECORDS); i += 1) {
    const record = records[i];
    if ((record.recordType !== "url" && record.recordType !== "absolute-url") || !record.data) continue;
    if (record.data.byteLength > MAX_TAG_URL_BYTES) continue;
    try {
      return new URL(new TextDecoder().decode(record.data));
    } catch {
      // not a URL: try the next record
    }
  }
  return null;
}

/** A tag was read: open its well's page at the tag's address (/n/<id>?e=…&c=…, the proof), or a label's address. */
async function openTag(message, read) {
  const url = tagUrl(message);
  if (!url) {
    sayNfc(_("这个 NFC 标签里没有网址，不是井站通的井口标签。"), "error");
    return;
  }
  const tag = TAG_PATH.exec(url.pathname);
  if (url.origin !== location.origin || (!tag && !LABEL_PATH.test(url.pathname))) {
    sayNfc(_("这不是本系统的井口 NFC 标签，已忽略。"), "error");
    return;
  }
  if (!tag) {
    handleCode(url.href); // a tag holding a QR label's address counts as a scan of that label
    return;
  }
  const proof = evidenceInAddress(url.href, Number(tag[1]));
  if (proof.method !== "nfc") {
    sayNfc(_("没有读到完整的标签内容：请把手机背面贴紧标签再试，或扫描井口二维码。"), "error");
    return;
  }
  const wellId = Number(tag[1]);
  const { wells } = await directory();
  const well = wells.find((w) => w.id === wellId);
  if (!well && !navigator.onLine) {
    sayNfc(_("本站井目录中没有这个标签的井：可能是其他站的井。"), "error");
    return;
  }
  stopNfc(read);
  feedback();
  if (well) sayNfc(_("已识别 %(well)s，正在打开…", { well: well.code }), "ok");
  // Rebuilt from what was checked: whatever else the tag's URL carried stays behind.
  const page = `/n/${wellId}?${new URLSearchParams({ e: proof.nfc.e, c: proof.nfc.c })}`;
  openWell(nextPage(page, wellId, new URLSearchParams(location.search)));
}

/** 贴近 NFC 标签: read tags until one of ours is read or the page is hidden (another tap starts over). */
async function startNfc() {
  stopNfc(nfcRead);
  const read = new AbortController();
  nfcRead = read;
  try {
    const reader = new NDEFReader();
    reader.onreading = (event) => {
      if (nfcRead === read) openTag(event.message, read);
    };
    reader.onreadingerror = () => sayNfc(_("没有读清标签，请把手机背面贴紧标签再试。"), "error");
    await reader.scan({ signal: read.signal });
    nfcButton.setAttribute("aria-pressed", "true");
    sayNfc(_("请把手机背面贴近井口的 NFC 标签。"));
  } catch (error) {
    if (nfcRead === read) nfcRead = null;
    const refused = error && error.name === "NotAllowedError";
    sayNfc(refused ? _("未允许本网站使用 NFC：请在浏览器设置中允许，或直接把手机贴近标签。") : _("无法读取 NFC：请确认手机的 NFC 已打开。"), "error");
  }
}

function stopNfc(read) {
  if (!read) return;
  read.abort();
  if (nfcRead === read) nfcRead = null;
  nfcButton.setAttribute("aria-pressed", "false");
}

if (nfcButton && "NDEFReader" in window) {
  // Where the browser cannot read tags itself (iPhone, a PC) the card says that the phone opens the tag's URL.
  nfcButton.hidden = false;
  nfcHelp.hidden = true;
  nfcButton.addEventListener("click", startNfc);
}

document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "hidden") stopNfc(nfcRead);
  // The camera is released in the background and reopened when the app comes back.
  if (document.visibilityState === "hidden" && scanner) {
    scanner.stop();
    scanner = null;
  } else if (document.visibilityState === "visible" && !scanner && !left) {
    start(cameraList[cameraIndex] ? cameraList[cameraIndex].deviceId : null);
  }
});

start();
directory();
if (currentUserId()) locate(); // an activity's check-in carries the position; the well page gets a quick first fix
