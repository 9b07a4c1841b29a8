// outbox.js — the phone's outbox: field records saved in IndexedDB, then sent once to POST /api/v1/sync.
// A record leaves the outbox only when the server answered "created" or "duplicate" for it.
import { _ } from "./i18n.js";

const DB_NAME = "jingzhan";
const STORE = "outbox";
const KEYS = "keys";
const PHOTOS = "photos";
const BATCH = 100;
const MAX_RETRY_MS = 5 * 60 * 1000;

let dbPromise = null;
let syncing = false;
let needsLogin = false;
let retryMs = 0;
let retryTimer = null;
let syncAgain = false;
let batchSize = BATCH;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, 3);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) {
          const store = db.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
          store.createIndex("uuid", "uuid", { unique: true });
        }
        if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS, { keyPath: "user_id" });
        if (!db.objectStoreNames.contains(PHOTOS)) db.createObjectStore(PHOTOS, { keyPath: "uuid" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return dbPromise;
}

async function withStore(mode, work, name = STORE) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(name, mode);
    const result = work(tx.objectStore(name));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** The logged-in user's id, from the page (the server's word, never the phone's). */
export function currentUserId() {
  const id = Number(document.body.dataset.userId || 0);
  return Number.isFinite(id) && id > 0 ? id : null;
}

function deviceId() {
  let id = localStorage.getItem("jingzhan-device-id");
  if (!id) {
    id = crypto.randomUUID();
    localStorage.setItem("jingzhan-device-id", id);
  }
  return id;
}

/** A time with the phone's own UTC offset, e.g. 2026-11-26T08:15:00+08:00. */
export function localIso(date) {
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  );
}

/** Every record in the outbox, oldest first. */
export async function allRecords() {
  return withStore("readonly", (store) => store.getAll());
}

/** Counts for the sync indicator: this user's pending and rejected records, and other users' pending ones. */
export async function counts() {
  const me = currentUserId();
  const records = await allRecords();
  const mine = records.filter((r) => r.user_id === me);
  return {
    pending: mine.filter((r) => r.state === "pending").length,
    rejected: mine.filter((r) => r.state === "rejected").length,
    others: records.filter((r) => r.user_id !== me && r.state === "pending").length,
    syncing,
    needsLogin,
  };
}

/** Tell the page the outbox changed; resolves once the listeners (the sync status line) have the new counts. */
function notify() {
  return counts().then((c) => document.dispatchEvent(new CustomEvent("outbox:change", { detail: c })));
}

/** Keep a photo (already compressed on the phone) until it is uploaded; returns its uuid. */
export async function savePhoto(blob) {
  const userId = currentUserId();
  if (!userId) throw new Error(_("未登录，照片未保存。"));
  // Bytes as an ArrayBuffer: Safari cannot always keep Blobs in IndexedDB.
  const photo = { uuid: crypto.randomUUID(), user_id: userId, type: blob.type, bytes: await blob.arrayBuffer(), saved_at: Date.now() };
  try {
    await withStore("readwrite", (store) => store.add(photo), PHOTOS);
  } catch (error) {
    if (error && error.name === "QuotaExceededError") throw new Error(_("手机存储空间不足，照片未保存。"));
    throw error;
  }
  return photo.uuid;
}

/** A photo still on the phone, as a Blob (for previews), or null once uploaded. */
export async function photoBlob(uuid) {
  const photo = await withStore("readonly", (store) => store.get(uuid), PHOTOS);
  return photo ? new Blob([photo.bytes], { type: photo.type }) : null;
}

async function uploadPhotos(me) {
  const photos = (await withStore("readonly", (store) => store.getAll(), PHOTOS)).filter((p) => p.user_id === me && !p.error);
  for (const photo of photos) {
    const form = new FormData();
    form.append("uuid", photo.uuid);
    form.append("file", new Blob([photo.bytes], { type: photo.type }), `${photo.uuid}.jpg`);
    const response = await fetch("/api/v1/photos", { method: "POST", body: form, credentials: "same-origin", redirect: "manual" });
    if (response.status === 401 || response.type === "opaqueredirect") return "login";
    if (response.ok) {
      await withStore("readwrite", (store) => store.delete(photo.uuid), PHOTOS);
    } else if (response.status >= 400 && response.status < 500) {
      const body = await response.json().catch(() => ({}));
      const error = (body && body.error) || { code: "photo_refused", message: _("照片被服务器拒收。") };
      await withStore("readwrite", (store) => store.put({ ...photo, error }), PHOTOS);
    } else {
      throw new Error(`photo upload ${response.status}`);
    }
  }
  return "ok";
}

/** Save a field record for sending; resolves once it is safely in IndexedDB. */
export async function saveRecord(type, data, meta = {}) {
  const userId = currentUserId();
  if (!userId) throw new Error(_("未登录，记录未保存。"));
  const record = {
    uuid: crypto.randomUUID(),
    type,
    created_at: localIso(new Date()),
    data,
    meta,
    user_id: userId,
    state: "pending",
    error: null,
    saved_at: Date.now(),
  };
  try {
    await withStore("readwrite", (store) => store.add(record));
  } catch (error) {
    if (error && error.name === "QuotaExceededError") throw new Error(_("手机存储空间不足，记录未保存。"));
    throw new Error(_("记录未保存：%(reason)s", { reason: error && error.message ? error.message : error }));
  }
  askPersistentStorage();
  // The status line says "待同步" before the caller says "saved": "已全部同步" is then never a stale word.
  await notify();
  syncNow();
  return record;
}

/** "pending" or "rejected" while the record is in the outbox; null once the server has it. */
export async function recordState(uuid) {
  const record = await withStore("readonly", (store) => store.index("uuid").get(uuid));
  return record ? record.state : null;
}

/** Remove a rejected record the worker has read and dismissed. Pending records cannot be removed. */
export async function dismissRejected(uuid) {
  await withStore("readwrite", (store) => {
    const request = store.index("uuid").get(uuid);
    request.onsuccess = () => {
      const record = request.result;
      if (record && record.state === "rejected") store.delete(record.seq);
    };
  });
  notify();
}

async function applyResults(results) {
  const byUuid = new Map(results.map((r) => [r.uuid, r]));
  let settled = 0;
  await withStore("readwrite", (store) => {
    const request = store.openCursor();
    request.onsuccess = () => {
      const cursor = request.result;
      if (!cursor) return;
      const result = byUuid.get(cursor.value.uuid);
      if (result && (result.status === "created" || result.status === "duplicate")) {
        cursor.delete();
        settled += 1;
      } else if (result && result.status === "rejected") {
        cursor.update({ ...cursor.value, state: "rejected", error: result.error || null });
        settled += 1;
      }
      cursor.continue();
    };
  });
  return settled;
}

function scheduleRetry() {
  clearTimeout(retryTimer);
  retryMs = Math.min(retryMs ? retryMs * 2 : 5000, MAX_RETRY_MS);
  retryTimer = setTimeout(syncNow, retryMs);
}

async function sendBatch(records) {
  const body = JSON.stringify({
    device_id: deviceId(),
    sent_at: localIso(new Date()),
    records: records.map(({ uuid, type, created_at, data }) => ({ uuid, type, created_at, data })),
  });
  // redirect "manual": a redirect to the login page must never look like success.
  return fetch("/api/v1/sync", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    credentials: "same-origin",
    redirect: "manual",
    body,
  });
}

/** Send this user's pending records, oldest first, until none are left or the network fails. */
export async function syncNow() {
  const me = currentUserId();
  if (!me) return;
  if (syncing) {
    // A record or photo saved while a sync runs: that sync may already have read the outbox, so run once more.
    syncAgain = true;
    return;
  }
  syncing = true;
  syncAgain = false;
  let drained = false;
  notify();
  try {
    for (;;) {
      const pending = (await allRecords()).filter((r) => r.user_id === me && r.state === "pending").slice(0, batchSize);
      // Photos go first: a record is sent only after the photos it refers to are on the server. They are read
      // after the records: a photo is saved before the record that uses it, so every photo of these is seen.
      try {
        if ((await uploadPhotos(me)) === "login") {
          needsLogin = true;
          return;
        }
      } catch {
        scheduleRetry();
        return;
      }
      if (!pending.length) {
        drained = true;
        break;
      }
      let response;
      try {
        response = await sendBatch(pending);
      } catch {
        scheduleRetry();
        return;
      }
      if (response.status === 401 || response.type === "opaqueredirect") {
        needsLogin = true;
        return;
      }
      if (response.status === 413 && pending.length > 1) {
        batchSize = Math.max(1, Math.floor(pending.length / 2));
        continue;
      }
      if (response.status === 413) {
        await applyResults([{ uuid: pending[0].uuid, status: "rejected", error: { code: "too_large", message: _("这条记录太大，无法同步。") } }]);
        continue;
      }
      if (!response.ok) {
        scheduleRetry();
        return;
      }
      const answer = await response.json();
      needsLogin = false;
      retryMs = 0;
      batchSize = BATCH;
      if ((await applyResults(answer.results || [])) === 0) {
        scheduleRetry();
        return;
      }
    }
  } finally {
    syncing = false;
    notify();
  }
  // Stopped by the network or the session, the retry or the next login picks the new record up.
  if (drained && syncAgain) await syncNow();
}

/** Keep the key the server issued to this user, for signing records exported to a file. */
export async function storeSigningKey(userId, key) {
  await withStore("readwrite", (store) => store.put({ user_id: userId, key }), KEYS);
}

export async function hasSigningKey(userId) {
  return Boolean(await withStore("readonly", (store) => store.get(userId), KEYS));
}

/** The same canonical JSON as the server's canonical_json: sorted keys, no spaces. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

async function sign(keyHex, record) {
  const bytes = new Uint8Array(keyHex.match(/../g).map((h) => parseInt(h, 16)));
  const key = await crypto.subtle.importKey("raw", bytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const { uuid, type, created_at, data, user_id } = record;
  const message = new TextEncoder().encode(canonicalJson({ uuid, type, created_at, data, user_id }));
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", key, message));
  return Array.from(signature, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Every unsynced record on this phone, each signed with its author's key where the phone has it, as a file body. */
export async function exportPending() {
  const records = (await allRecords()).filter((r) => r.state === "pending");
  const keys = new Map((await withStore("readonly", (store) => store.getAll(), KEYS)).map((k) => [k.user_id, k.key]));
  const signed = [];
  for (const record of records) {
    const key = keys.get(record.user_id);
    const { uuid, type, created_at, data, user_id, meta } = record;
    signed.push({ uuid, type, created_at, data, user_id, meta, sig: key ? await sign(key, record) : null });
  }
  return { format: "jingzhan-outbox", version: 1, exported_at: localIso(new Date()), device_id: deviceId(), records: signed };
}

let persistAsked = false;
function askPersistentStorage() {
  if (persistAsked || !navigator.storage || !navigator.storage.persist) return;
  persistAsked = true;
  navigator.storage.persist().then((granted) => localStorage.setItem("jingzhan-persisted", granted ? "yes" : "no"));
}

/** Start syncing now and whenever the phone is back online or the app comes back to the front. */
export function startOutbox() {
  window.addEventListener("online", () => {
    retryMs = 0;
    syncNow();
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncNow();
  });
  notify();
  syncNow();
}
