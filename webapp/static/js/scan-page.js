// scan-page.js — the 扫码 tab: camera scanning with torch and camera switch, a still-photo fallback,
// and 井号 entry that works offline from the station's well directory; an activity's check-in code is saved
// straight into the outbox (offline too).
import { _ } from "./i18n.js";
import { allRecords, currentUserId, saveRecord } from "./outbox.js";
import { cameras, decodeFile, startScanner } from "./scanner.js";

const video = document.querySelector("[data-scan-video]");
const status = document.querySelector("[data-scan-status]");
const torchButton = document.querySelector("[data-torch]");
const switchButton = document.querySelector("[data-switch-camera]");
const photoInput = document.querySelector("[data-scan-photo]");
const manualForm = document.querySelector("[data-manual-form]");
const LABEL_PATH = /^\/w\/([A-Za-z0-9_-]{1,64})$/;
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

// Where a recognised label leads: the well page, or — to correct a returned record — the patrol form or the
// equipment check the leader returned (?corrects=<uuid>, and ?check=<equipment id> for a check).
function nextPage(token, params) {
  const corrects = params.get("corrects");
  const equipment = params.get("check");
  if (corrects && equipment) {
    const query = new URLSearchParams({ equipment, well: token, corrects });
    return `/checks/new?${query}`;
  }
  return corrects ? `/w/${token}?corrects=${encodeURIComponent(corrects)}` : `/w/${token}`;
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
    record = await saveRecord("attendance", { activity_id: Number(activityId), step: Number(step), code }, { what: _("活动签到") });
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
  const well = wells.find((w) => w.qr_token === token);
  if (well) {
    feedback();
    say(_("已识别 %(well)s，正在打开…", { well: well.code }), "ok");
    location.assign(nextPage(token, new URLSearchParams(location.search)));
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
    location.assign(`/w/${well.qr_token}?via=manual`);
  } else if (navigator.onLine) {
    manualForm.submit(); // the server looks in the whole work area and explains
  } else {
    say(_("本站井目录中没有井号「%(code)s」，请核对后重新输入。", { code }), "error");
  }
});

document.addEventListener("visibilitychange", () => {
  // The camera is released in the background and reopened when the app comes back.
  if (document.visibilityState === "hidden" && scanner) {
    scanner.stop();
    scanner = null;
  } else if (document.visibilityState === "visible" && !scanner) {
    start(cameraList[cameraIndex] ? cameraList[cameraIndex].deviceId : null);
  }
});

start();
directory();
