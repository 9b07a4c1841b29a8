// harness.mjs — runs webapp/static/js/outbox.js in Node as a phone would: a page (document, window,
// localStorage, navigator), an in-memory IndexedDB, a fake clock (Date, setTimeout) and a scriptable network
// in front of a small server that keeps the sync contract (DESIGN.md): idempotent by uuid, per-record answers.
//
// Works on Node 18 (Debian 12's `nodejs`) and later: nothing here needs a newer global.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { webcrypto } from "node:crypto";

import { FakeIndexedDB } from "./fake-indexeddb.mjs";

// Phones in the work area run on Beijing time; localIso() writes the phone's own offset.
process.env.TZ = "Asia/Shanghai";

// OUTBOX_UNDER_TEST=path runs the tests against another copy (e.g. a deliberately broken one, to see them fail).
const SOURCE = process.env.OUTBOX_UNDER_TEST || fileURLToPath(new URL("../../webapp/static/js/outbox.js", import.meta.url));
// Node 18 reads a .js file outside a "type": "module" package as CommonJS: load a copy named .mjs.
const COPY_DIR = mkdtempSync(join(tmpdir(), "jingzhan-outbox-"));
const COPY = join(COPY_DIR, "outbox.mjs");
copyFileSync(SOURCE, COPY);
// The modules it imports, beside it (read as ES modules: the folder says "type": "module").
copyFileSync(fileURLToPath(new URL("../../webapp/static/js/i18n.js", import.meta.url)), join(COPY_DIR, "i18n.js"));
writeFileSync(join(COPY_DIR, "package.json"), '{"type": "module"}');
process.on("exit", () => rmSync(COPY_DIR, { recursive: true, force: true }));
let instances = 0;

if (!globalThis.crypto) Object.defineProperty(globalThis, "crypto", { value: webcrypto, configurable: true });
if (typeof globalThis.CustomEvent !== "function") {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor(type, init = {}) {
      super(type, init);
      this.detail = init.detail ?? null;
    }
  };
}

const RealDate = Date;
const realSetTimeout = setTimeout;
const realClearTimeout = clearTimeout;

/** Wait until nothing is left to run but timers: the fake IndexedDB and fetch answer on setImmediate turns. */
export async function idle(turns = 50) {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * A clock the test moves by hand. `advance` moves time on (timers fall due, Date follows); `jump` sets the phone's
 * wall clock (Date) without touching timers, which, as in a browser, run on a monotonic clock.
 */
export class FakeClock {
  constructor(start = RealDate.UTC(2026, 10, 26, 0, 15, 0)) {
    this.monotonic = 0;
    this.start = start;
    this.wall = start; // Date.now() = wall + monotonic
    this.timers = new Map();
    this.nextId = 1;
  }

  get now() {
    return this.wall + this.monotonic;
  }

  /** The true time (the server's clock): moved by `advance`, not by `jump`. */
  get trueNow() {
    return this.start + this.monotonic;
  }

  install() {
    const clock = this;
    globalThis.Date = class extends RealDate {
      constructor(...args) {
        if (args.length === 0) super(clock.now);
        else super(...args);
      }

      static now() {
        return clock.now;
      }
    };
    globalThis.setTimeout = (fn, ms = 0, ...args) => {
      const id = clock.nextId++;
      clock.timers.set(id, { at: clock.monotonic + Math.max(0, Number(ms) || 0), fn: () => fn(...args) });
      return id;
    };
    globalThis.clearTimeout = (id) => {
      clock.timers.delete(id);
    };
  }

  uninstall() {
    globalThis.Date = RealDate;
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  }

  /** The delays of the timers waiting now, from the soonest. */
  pending() {
    return [...this.timers.values()].map((t) => t.at - this.monotonic).sort((a, b) => a - b);
  }

  /** The phone's clock is set forward or back by ms (NTP, a flat battery, a worker's fiddling). */
  jump(ms) {
    this.wall += ms;
  }

  /** Move time forward by ms, running each timer that falls due (and what it sets off) in order. */
  async advance(ms) {
    const end = this.monotonic + ms;
    for (;;) {
      const due = [...this.timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.timers.delete(due[0]);
      this.monotonic = Math.max(this.monotonic, due[1].at);
      due[1].fn();
      await idle();
    }
    this.monotonic = end;
    await idle();
  }
}

/**
 * The server side of POST /api/v1/sync and /api/v1/photos, as the contract says, behind a network the test scripts.
 * Each request takes the next fault from `script` (or `fault` when the script is empty):
 *   "ok"       – delivered and answered;
 *   "offline"  – fetch rejects; nothing reached the server;
 *   "drop"     – the server commits, then the connection drops: fetch rejects, the phone hears nothing;
 *   500, 503   – the server fails before committing anything;
 *   401        – no session (JSON, as the server answers the API);
 *   "redirect" – a redirect (fetch with redirect: "manual" sees an opaque redirect);
 *   413        – too large.
 * `maxRecords` answers 413 to any larger batch, as a proxy's body limit would.
 * Its answers carry `server_time` as webapp/sync.py writes it ("2026-11-26T00:15:00Z"), from the true time of the
 * phone's clock (a phone's clock `jump` does not move the server's), shifted by `clockOffsetMs`.
 */
export class FakeServer {
  constructor() {
    this.receipts = new Map(); // uuid → { id, author, content }
    this.rows = []; // every row written, in order: a record twice here is a record counted twice
    this.photos = new Set();
    this.script = [];
    this.fault = "ok";
    this.maxRecords = Infinity;
    this.requests = [];
    this.userId = 7;
    this.clock = null; // set by makePhone
    this.clockOffsetMs = 0;
    this.refuse = (record) => {
      if (record.data && record.data.bad) return { code: "out_of_range", message: "油压应在 0–40 之间。", field: "oil_pressure_mpa" };
      // As webapp/photos.py check_photos: every photo a record names must be on the server first.
      if (((record.data && record.data.photos) || []).some((uuid) => !this.photos.has(uuid))) {
        return { code: "photo_missing", message: "有照片还没有上传，稍后会自动重试。", field: "photos" };
      }
      return null;
    };
  }

  nextFault() {
    return this.script.length ? this.script.shift() : this.fault;
  }

  answer(batch) {
    const results = batch.records.map((record) => {
      const content = JSON.stringify([record.type, record.created_at, record.data]);
      const seen = this.receipts.get(record.uuid);
      if (seen) {
        if (seen.author === this.userId && seen.content === content) return { uuid: record.uuid, status: "duplicate", id: seen.id };
        return { uuid: record.uuid, status: "rejected", error: { code: "conflict", message: "此记录编号已被另一条不同的记录使用。", field: "uuid" } };
      }
      const error = this.refuse(record);
      if (error) return { uuid: record.uuid, status: "rejected", error };
      const id = this.rows.length + 1;
      this.rows.push({ id, uuid: record.uuid, author: this.userId, record });
      this.receipts.set(record.uuid, { id, author: this.userId, content });
      return { uuid: record.uuid, status: "created", id };
    });
    return { server_time: this.serverTime(), results };
  }

  /** The server's time now, as it spells it in answers and pages. */
  serverTime() {
    const now = (this.clock ? this.clock.trueNow : RealDate.now()) + this.clockOffsetMs;
    return `${new RealDate(now).toISOString().slice(0, 19)}Z`;
  }

  /** The fetch the page sees. */
  fetch = async (url, options = {}) => {
    await idle(2);
    const fault = this.nextFault();
    const entry = { url, options, fault };
    this.requests.push(entry);
    if (url === "/api/v1/sync") {
      entry.batch = JSON.parse(options.body);
      entry.uuids = entry.batch.records.map((r) => r.uuid);
    }
    if (fault === "offline") throw new TypeError("Failed to fetch");
    if (fault === "redirect") return { type: "opaqueredirect", status: 0, ok: false, json: async () => ({}) };
    if (fault === 401) return json(401, { error: { code: "unauthenticated", message: "请先登录。" } });
    if (fault === 500 || fault === 503) return json(fault, { error: { code: "server_error", message: "服务器出错了，请稍后重试；已保存的记录不会丢失。" } });
    if (url === "/api/v1/photos") {
      this.photos.add(options.body.get("uuid"));
      if (fault === "drop") throw new TypeError("network connection lost");
      return json(201, { uuid: options.body.get("uuid") });
    }
    if (fault === 413 || entry.batch.records.length > this.maxRecords) {
      return json(413, { error: { code: "too_large", message: "一次同步的内容不能超过 2 MB，请分批同步。" } });
    }
    const answer = this.answer(entry.batch);
    if (fault === "drop") throw new TypeError("network connection lost");
    return json(200, answer);
  };

  /** The batches that reached the server's handler (in order), as lists of uuids. */
  syncBatches() {
    return this.requests.filter((r) => r.url === "/api/v1/sync" && r.fault !== "offline").map((r) => r.uuids);
  }
}

function json(status, body) {
  return { type: "basic", status, ok: status >= 200 && status < 300, json: async () => structuredClone(body) };
}

/**
 * A phone: a fresh outbox module (a page load) on its IndexedDB, page and clock; `user` is who the page says is
 * logged in. Pass the `indexedDB` (and `storage`, its localStorage) of an earlier phone to reload the app on the same
 * storage, or to open a second tab beside it; `serverTime` is the page's data-server-time. The globals (document,
 * localStorage, fetch) are the last phone's: two tabs share the page's user, as they share a login.
 */
export async function makePhone({ user = 7, server = new FakeServer(), clock = new FakeClock(), indexedDB = new FakeIndexedDB(), storage = new Map(), serverTime } = {}) {
  const events = [];
  const document = new EventTarget();
  document.body = { dataset: { userId: String(user ?? "") } };
  // base.html's data-server-time: the server's time when it rendered the page.
  if (serverTime) document.body.dataset.serverTime = serverTime;
  if (!server.clock) server.clock = clock;
  document.visibilityState = "visible";
  document.addEventListener("outbox:change", (e) => events.push(e.detail));
  const globals = {
    indexedDB,
    document,
    window: new EventTarget(),
    localStorage: {
      getItem: (k) => (storage.has(k) ? storage.get(k) : null),
      setItem: (k, v) => storage.set(k, String(v)),
      removeItem: (k) => storage.delete(k),
    },
    navigator: { onLine: true, storage: { persist: async () => true } },
    fetch: server.fetch,
  };
  for (const [name, value] of Object.entries(globals)) {
    Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  clock.install();
  instances += 1;
  const outbox = await import(`${pathToFileURL(COPY).href}?phone=${instances}`);
  const phone = {
    outbox,
    server,
    clock,
    indexedDB,
    storage,
    events,
    document,
    setUser(id) {
      document.body.dataset.userId = String(id ?? "");
      server.userId = id;
    },
    /** A page load: the page says the server's time it was rendered at. */
    setPageServerTime(iso) {
      document.body.dataset.serverTime = iso;
    },
    /** What is in the outbox store now, oldest first. */
    stored: () => indexedDB.dump("jingzhan", "outbox"),
    /** The chain heads and the kept server time (the "chains" store). */
    chains: () => indexedDB.dump("jingzhan", "chains"),
    /** Wait for a sync (started by a save, a timer or the test) to finish. */
    async settle() {
      for (let i = 0; i < 200; i += 1) {
        await idle();
        if (!(await outbox.counts()).syncing) return;
      }
      throw new Error("the outbox is still syncing");
    },
    done() {
      clock.uninstall();
    },
  };
  server.userId = user;
  return phone;
}


/** A patrol's data, numbered in its note. */
export const patrol = (n, extra = {}) => ({ well_id: 1, method: "scan", readings: { oil_pressure_mpa: 0.8 }, note: `#${n}`, ...extra });

/** Run body with a new phone, and always tidy it away. */
export async function withPhone(options, body) {
  const phone = await makePhone(options);
  try {
    await body(phone);
  } finally {
    phone.done();
  }
}

/** Save n records while the network is down (the save's own sync attempt fails), then bring it back. */
export async function saveOffline(phone, n, data = patrol, type = "patrol") {
  const saved = [];
  const before = phone.server.fault;
  phone.server.fault = "offline";
  for (let i = 0; i < n; i += 1) {
    saved.push(await phone.outbox.saveRecord(type, data(i)));
    await phone.settle();
  }
  phone.server.fault = before;
  return saved;
}

export async function syncAll(phone) {
  await phone.outbox.syncNow();
  await phone.settle();
}
