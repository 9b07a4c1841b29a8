// outbox.js — the phone's outbox: field records saved in IndexedDB, then sent once to POST /api/v1/sync.
// A record leaves the outbox only when the server answered "created" or "duplicate" for it. Each record is
// numbered and linked into its author's chain on this phone (docs/evidence.md §2); a refused record stays until it
// is resent or discarded, and a discard is itself a chained record (§4).
import { _ } from "./i18n.js";

const DB_NAME = "jingzhan";
const DB_VERSION = 4;
const STORE = "outbox";
const KEYS = "keys";
const PHOTOS = "photos";
// One row per user: the head of that user's chain on this phone, { user_id, seq, link, device }; and one row
// { user_id: SEEN, seen } holding the greatest server time the phone has received (no user has that id).
const CHAINS = "chains";
const SEEN = "seen";
const BATCH = 100;
const MAX_RETRY_MS = 5 * 60 * 1000;

let dbPromise = null;
let syncing = false;
let needsLogin = false;
let retryMs = 0;
let retryTimer = null;
let syncAgain = false;
let batchSize = BATCH;
// Records that failed alone with a server error (500) while this page syncs: held back while the next record is
// tried alone. If that one goes through, the server fails on these records only — they are set aside (refused,
// kept, visible, exportable: never deleted) and the rest flow; if it fails too, the server is failing on
// everything, and every record waits for a retry.
const suspects = new Set();

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      // Only what is missing is created: a phone on an older version keeps its outbox, keys and photos.
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(STORE)) {
          const store = db.createObjectStore(STORE, { keyPath: "seq", autoIncrement: true });
          store.createIndex("uuid", "uuid", { unique: true });
        }
        if (!db.objectStoreNames.contains(KEYS)) db.createObjectStore(KEYS, { keyPath: "user_id" });
        if (!db.objectStoreNames.contains(PHOTOS)) db.createObjectStore(PHOTOS, { keyPath: "uuid" });
        if (!db.objectStoreNames.contains(CHAINS)) db.createObjectStore(CHAINS, { keyPath: "user_id" });
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer version of the app opened in another tab: let it upgrade; this tab reopens on its next call.
        db.onversionchange = () => {
          db.close();
          dbPromise = null;
        };
        resolve(db);
      };
      request.onerror = () => {
        dbPromise = null;
        reject(request.error);
      };
    });
  }
  return dbPromise;
}

/** Run work(tx, setResult) in one transaction over the named stores; resolves with the result once it committed. */
async function transaction(names, mode, work) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(names, mode);
    let result;
    work(tx, (value) => {
      result = value;
    });
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
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

// A record being discarded is still waiting for the server (its discard record has not been answered yet).
const waiting = (r) => r.state === "pending" || r.state === "discarding";

/** Counts for the sync indicator: this user's waiting and rejected records, and other users' waiting ones. */
export async function counts() {
  const me = currentUserId();
  const records = await allRecords();
  const mine = records.filter((r) => r.user_id === me);
  return {
    pending: mine.filter(waiting).length,
    rejected: mine.filter((r) => r.state === "rejected").length,
    others: records.filter((r) => r.user_id !== me && waiting(r)).length,
    syncing,
    needsLogin,
  };
}

/** Tell the page the outbox changed; resolves once the listeners (the sync status line) have the new counts. */
function notify() {
  return counts().then((c) => document.dispatchEvent(new CustomEvent("outbox:change", { detail: c })));
}

let writing = 0; // records and photos being written to IndexedDB now
let whenWritten = [];

/** Run a write to the outbox counted as under way, so that leaving the page can wait for it (saving(), app.js). */
async function counted(write) {
  writing += 1;
  try {
    return await write();
  } finally {
    writing -= 1;
    if (!writing) whenWritten.splice(0).forEach((resolve) => resolve());
  }
}

/** Whether a record or a photo is being written to the phone now: a page left in those few milliseconds would take
 * the unfinished write with it. */
export function saving() {
  return writing > 0;
}

/** Resolves once no record or photo is being written. */
export function saved() {
  return writing ? new Promise((resolve) => whenWritten.push(resolve)) : Promise.resolve();
}

/** Keep a photo (already compressed on the phone) until it is uploaded; returns its uuid. */
export function savePhoto(blob) {
  return counted(() => keepPhoto(blob));
}

async function keepPhoto(blob) {
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

/** Lower-case hex SHA-256 of a string's UTF-8 bytes. */
async function sha256Hex(text) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A record's link in its chain: the hash of what it says and where it stands (docs/evidence.md §2). */
export function chainLink({ uuid, type, created_at, data, chain }) {
  return sha256Hex(canonicalJson({ uuid, type, created_at, data, chain }));
}

const sameHead = (a, b) => (!a && !b) || Boolean(a && b && a.seq === b.seq && a.link === b.link && a.device === b.device);

/**
 * Number, link and store a new record of this user in one go. The link is hashed between two transactions (a
 * transaction cannot wait for a hash), so the second one writes only if the chain's head is still the one the
 * number was taken from; otherwise another tab saved meanwhile and it starts again: the chain never forks.
 * `alongside(outbox, proceed)`, if given, runs in the writing transaction first and calls proceed(true) to write
 * or proceed(false) to give up (then null is returned).
 */
async function appendToChain(userId, type, data, meta, alongside = null) {
  const uuid = crypto.randomUUID();
  const device = deviceId();
  for (;;) {
    const [head, seen] = await transaction(CHAINS, "readonly", (tx, set) => {
      const store = tx.objectStore(CHAINS);
      const headRequest = store.get(userId);
      const seenRequest = store.get(SEEN);
      seenRequest.onsuccess = () => set([headRequest.result, seenRequest.result ? seenRequest.result.seen : null]);
    });
    // A head written under another device id (the phone's id was lost) is not continued: a new chain starts.
    const last = head && head.device === device ? head : null;
    const chain = { device, seq: last ? last.seq + 1 : 1, prev: last ? last.link : null, seen: seen || null };
    const created_at = localIso(new Date());
    const link = await chainLink({ uuid, type, created_at, data, chain });
    const record = {
      uuid,
      type,
      created_at,
      data,
      chain,
      link,
      meta,
      user_id: userId,
      state: "pending",
      error: null,
      saved_at: Date.now(),
    };
    const outcome = await transaction([STORE, CHAINS], "readwrite", (tx, set) => {
      const heads = tx.objectStore(CHAINS);
      const outbox = tx.objectStore(STORE);
      const request = heads.get(userId);
      request.onsuccess = () => {
        if (!sameHead(request.result, head)) {
          set("moved");
          return;
        }
        const write = (go) => {
          if (!go) {
            set("refused");
            return;
          }
          outbox.add(record);
          heads.put({ user_id: userId, seq: chain.seq, link, device });
          set("written");
        };
        if (alongside) alongside(outbox, write);
        else write(true);
      };
    });
    if (outcome === "written") return record;
    if (outcome === "refused") return null;
  }
}

/** Keep a server time the phone has received (a sync answer's server_time, a page's data-server-time), if later. */
export async function noteServerTime(value) {
  if (typeof value !== "string" || value.length > 40 || !Number.isFinite(Date.parse(value))) return;
  try {
    await transaction(CHAINS, "readwrite", (tx) => {
      const store = tx.objectStore(CHAINS);
      const request = store.get(SEEN);
      request.onsuccess = () => {
        const kept = request.result ? request.result.seen : null;
        if (!kept || Date.parse(value) > Date.parse(kept)) store.put({ user_id: SEEN, seen: value });
      };
    });
  } catch {
    // Only a hint that narrows the server's time window; a full phone must still be able to sync.
  }
}

/** The greatest server time this phone has received, as the server wrote it, or null. */
export async function seenServerTime() {
  const row = await withStore("readonly", (store) => store.get(SEEN), CHAINS);
  return row ? row.seen : null;
}

function notSaved(error) {
  if (error && error.name === "QuotaExceededError") return new Error(_("手机存储空间不足，记录未保存。"));
  return new Error(_("记录未保存：%(reason)s", { reason: error && error.message ? error.message : error }));
}

/** Save a field record for sending; resolves once it is safely in IndexedDB, numbered in its author's chain. */
export function saveRecord(type, data, meta = {}) {
  return counted(() => keepRecord(type, data, meta));
}

async function keepRecord(type, data, meta) {
  const userId = currentUserId();
  if (!userId) throw new Error(_("未登录，记录未保存。"));
  await noteServerTime(document.body.dataset.serverTime);
  let record;
  try {
    record = await appendToChain(userId, type, data, meta);
  } catch (error) {
    throw notSaved(error);
  }
  askPersistentStorage();
  // The status line says "待同步" before the caller says "saved": "已全部同步" is then never a stale word.
  await notify();
  syncNow();
  return record;
}

/** "pending", "rejected" or "discarding" while the record is in the outbox; null once the server has it. */
export async function recordState(uuid) {
  const record = await withStore("readonly", (store) => store.index("uuid").get(uuid));
  return record ? record.state : null;
}

/** Send a refused record again (the server may accept it now); true if it was refused and is pending again. */
export async function resendRejected(uuid) {
  const resent = await transaction(STORE, "readwrite", (tx, set) => {
    const store = tx.objectStore(STORE);
    const request = store.index("uuid").get(uuid);
    request.onsuccess = () => {
      const record = request.result;
      if (!record || record.state !== "rejected") return set(false);
      store.put({ ...record, state: "pending", error: null });
      set(true);
    };
  });
  await notify();
  if (resent) syncNow();
  return resent;
}

/**
 * Give up a refused record the worker has seen. It is not deleted: it is marked "discarding" and a record of type
 * "discard" carrying it whole is saved in the chain; both leave once the server has the discard. Resolves with
 * the discard record, or null if the record is not a refused one of this user (or is itself a discard).
 */
export async function discardRejected(uuid) {
  return giveUp(uuid, "rejected");
}

/**
 * Withdraw a record that has not been sent yet (the worker saw a mistake): the same as a discard — the record
 * travels whole inside a "discard" record marked "withdrawn", so the leader sees it was withdrawn and the phone's
 * chain has no gap. Not while a sync runs (the record may be on its way). Resolves like discardRejected.
 */
export async function withdrawPending(uuid) {
  if (syncing) throw new Error(_("正在同步，请稍候再撤回。"));
  return giveUp(uuid, "pending");
}

async function giveUp(uuid, from) {
  const userId = currentUserId();
  if (!userId) throw new Error(_("未登录，记录未保存。"));
  const target = await withStore("readonly", (store) => store.index("uuid").get(uuid));
  if (!target || target.state !== from || target.user_id !== userId || target.type === "discard") return null;
  const { type, created_at, data, chain = null, error, meta = {} } = target;
  const withdrawn = from === "pending";
  const discardData = {
    record: { uuid, type, created_at, data, chain },
    error_code: withdrawn ? "withdrawn" : (error && error.code) || null,
  };
  const what = meta.what || _("巡检打卡");
  const discardMeta = {
    what: withdrawn ? _("撤回：%(what)s", { what }) : _("放弃：%(what)s", { what }),
    well_code: meta.well_code,
    discards: uuid,
  };
  let discard;
  try {
    // The mark and the discard record are written together, and only if the record is still in the state seen.
    discard = await appendToChain(userId, "discard", discardData, discardMeta, (outbox, proceed) => {
      const request = outbox.index("uuid").get(uuid);
      request.onsuccess = () => {
        const now = request.result;
        if (!now || now.state !== from) return proceed(false);
        outbox.put({ ...now, state: "discarding" });
        proceed(true);
      };
    });
  } catch (error) {
    throw notSaved(error);
  }
  await notify();
  if (discard) syncNow();
  return discard;
}

/** Apply the server's answers; returns how many records of the outbox were answered. */
async function applyResults(results) {
  const byUuid = new Map(results.map((r) => [r.uuid, r]));
  const accepted = (r) => r && (r.status === "created" || r.status === "duplicate");
  return transaction(STORE, "readwrite", (tx, set) => {
    const store = tx.objectStore(STORE);
    const request = store.getAll();
    request.onsuccess = () => {
      const records = request.result;
      // A discard the server has takes the record it discards with it.
      const discarded = new Set(
        records.filter((r) => r.type === "discard" && accepted(byUuid.get(r.uuid))).map((r) => r.data?.record?.uuid),
      );
      let settled = 0;
      for (const record of records) {
        const result = byUuid.get(record.uuid);
        if (accepted(result)) {
          store.delete(record.seq);
          settled += 1;
        } else if (result && result.status === "rejected") {
          // Only a record still waiting for this answer: one the worker discarded meanwhile stays discarding.
          if (record.state === "pending") store.put({ ...record, state: "rejected", error: result.error || null });
          settled += 1;
        } else if (record.state === "discarding" && discarded.has(record.uuid)) {
          store.delete(record.seq);
        }
      }
      set(settled);
    };
  });
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
    records: records.map(({ uuid, type, created_at, data, chain }) => ({ uuid, type, created_at, data, chain })),
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
      const waiting = (await allRecords()).filter((r) => r.user_id === me && r.state === "pending");
      const pending = waiting.filter((r) => !suspects.has(r.uuid)).slice(0, suspects.size ? 1 : batchSize);
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
        if (suspects.size) {
          // Nothing else to try them against: they wait for the next retry, not set aside on a guess.
          suspects.clear();
          scheduleRetry();
          return;
        }
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
      if (response.status === 500 && pending.length > 1) {
        // The server failed on this batch: find the record it fails on, by halves.
        batchSize = Math.max(1, Math.floor(pending.length / 2));
        continue;
      }
      if (response.status === 500 && !suspects.size) {
        suspects.add(pending[0].uuid);
        continue; // try the next record alone
      }
      if (!response.ok) {
        suspects.clear(); // failing on the next record too: the server is failing on everything
        scheduleRetry();
        return;
      }
      if (suspects.size) {
        // The next record went through: the server fails on the suspects only. Set them aside, refused.
        await applyResults([...suspects].map((uuid) => ({
          uuid, status: "rejected",
          error: { code: "server_error", message: _("服务器多次处理这条记录都出错，先放在一边（仍在手机上，可重新发送或导出交站长），其他记录照常同步。") },
        })));
        suspects.clear();
      }
      const answer = await response.json();
      await noteServerTime(answer.server_time);
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

/**
 * Every record on this phone the server does not have (pending, refused, being discarded), each with its chain and
 * signed with its author's key where the phone has it, as a file body.
 */
export async function exportPending() {
  const records = await allRecords();
  const keys = new Map((await withStore("readonly", (store) => store.getAll(), KEYS)).map((k) => [k.user_id, k.key]));
  const signed = [];
  for (const record of records) {
    const key = keys.get(record.user_id);
    const { uuid, type, created_at, data, chain, user_id, meta } = record;
    // The signature stays over uuid, type, created_at, data and user_id, as the server checks it.
    signed.push({ uuid, type, created_at, data, chain, user_id, meta, sig: key ? await sign(key, record) : null });
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
  noteServerTime(document.body.dataset.serverTime);
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
