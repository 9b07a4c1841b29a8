// The phone's chain and what it never throws away (docs/evidence.md §2 and §4), in webapp/static/js/outbox.js:
// each record is numbered per user on this phone and linked to the one before by a hash the server can recompute;
// the greatest server time the phone has received goes into the next record; a refused record stays until the
// worker resends it or discards it, and a discard is itself a chained record the server must acknowledge.
import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import test from "node:test";

import { FakeIndexedDB } from "./fake-indexeddb.mjs";
import { idle, makePhone, patrol, saveOffline, syncAll, withPhone } from "./harness.mjs";

const MINUTE = 60 * 1000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const LIMIT = { timeout: 20_000 };


/** The server's canonical_json (webapp/sync.py): sorted keys, no spaces, UTF-8 as it is — written here again. */
function canonical(value) {
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  return `{${Object.keys(value)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`)
    .join(",")}}`;
}

const sha256 = (text) => createHash("sha256").update(text, "utf8").digest("hex");
const linkOf = ({ uuid, type, created_at, data, chain }) => sha256(canonical({ uuid, type, created_at, data, chain }));




/** Every record of one chain links to the one before it: seq 1, 2, 3 … and prev = the link of seq − 1. */
function assertOneChain(records) {
  const sorted = [...records].sort((a, b) => a.chain.seq - b.chain.seq);
  sorted.forEach((record, i) => {
    assert.equal(record.chain.seq, i + 1, "numbered 1, 2, 3 … without a gap or a repeat");
    assert.equal(record.chain.prev, i === 0 ? null : sorted[i - 1].link, `seq ${i + 1} links to seq ${i}`);
    assert.equal(record.link, linkOf(record), `the link of seq ${i + 1} is the hash of what it says`);
  });
}

const sentRecords = (phone) => phone.server.requests.filter((r) => r.batch && r.fault !== "offline").flatMap((r) => r.batch.records);

test("the link is the server's hash: sha256 of canonical JSON of uuid, type, created_at, data and chain", LIMIT, () =>
  withPhone({}, async (phone) => {
    const record = {
      uuid: "0b0e5c1e-3a1f-4d57-9a43-6f1c2d3e4f50",
      type: "patrol",
      created_at: "2026-11-26T08:15:00+08:00",
      data: { well_id: 12, note: '井口渗漏 "小"', readings: { oil_pressure_mpa: 0.8, casing_pressure_mpa: -1.25 }, photos: [], method: "scan" },
      chain: { device: "5f7c0a7e-9a63-4f0e-8f7b-0d2b8e0b6a11", seq: 2, prev: "ab".repeat(32), seen: "2026-11-26T00:10:00Z" },
    };
    // Computed with webapp/sync.py canonical_json and hashlib.sha256.
    const fromPython = "8c7f86047ed0b272b60cb8e58e189f197ac6b1148dab32e2b1bfbbbdfd979343";
    assert.equal(linkOf(record), fromPython);
    assert.equal(await phone.outbox.chainLink(record), fromPython);
  }));

test("records are numbered 1, 2, 3 … and each links to the one before; the batch carries the chain", LIMIT, () =>
  withPhone({}, async (phone) => {
    const saved = await saveOffline(phone, 3, (i) => patrol(i, { note: `井口 #${i}`, readings: { oil_pressure_mpa: 0.5 + i } }));
    const stored = phone.stored();
    const device = phone.storage.get("jingzhan-device-id");
    assert.ok(device);
    assert.deepEqual(stored.map((r) => r.chain.seq), [1, 2, 3]);
    assert.ok(stored.every((r) => r.chain.device === device));
    assert.ok(stored.every((r) => r.chain.seen === null), "no server time heard yet");
    assertOneChain(stored);
    assert.deepEqual(saved.map((r) => r.link), stored.map((r) => r.link), "saveRecord returns the record as stored");
    // The head of the chain: where the next record continues.
    assert.deepEqual(phone.chains(), [{ user_id: 7, seq: 3, link: stored[2].link, device }]);
    await syncAll(phone);
    assert.deepEqual(phone.stored(), []);
    const sent = sentRecords(phone);
    assert.deepEqual(sent.map((r) => r.chain), stored.map((r) => r.chain));
    assert.deepEqual(sent.map(linkOf), stored.map((r) => r.link), "the server recomputes the same links");
    // The records left the outbox; the chain goes on from its head, also after a reload.
    phone.done();
    const reopened = await makePhone({ server: phone.server, clock: phone.clock, indexedDB: phone.indexedDB, storage: phone.storage });
    try {
      const [next] = await saveOffline(reopened, 1);
      assert.equal(next.chain.seq, 4);
      assert.equal(next.chain.prev, stored[2].link);
      assert.equal(next.link, linkOf(next));
    } finally {
      reopened.done();
    }
  }));

test("each user has a chain of their own on a shared phone", LIMIT, () =>
  withPhone({ user: 7 }, async (phone) => {
    await saveOffline(phone, 2);
    phone.setUser(8);
    await saveOffline(phone, 2);
    phone.setUser(7);
    await saveOffline(phone, 1);
    const stored = phone.stored();
    const of = (user) => stored.filter((r) => r.user_id === user);
    assert.deepEqual(of(7).map((r) => r.chain.seq), [1, 2, 3]);
    assert.deepEqual(of(8).map((r) => r.chain.seq), [1, 2]);
    assertOneChain(of(7));
    assertOneChain(of(8));
    assert.deepEqual(
      phone.chains().map((h) => [h.user_id, h.seq]),
      [
        [7, 3],
        [8, 2],
      ],
    );
  }));

test("two tabs saving at the same moment never give two records the same number: the chain does not fork", LIMIT, async () => {
  const tabA = await makePhone();
  const tabB = await makePhone({ server: tabA.server, clock: tabA.clock, indexedDB: tabA.indexedDB, storage: tabA.storage });
  try {
    tabA.server.fault = "offline";
    const saves = [];
    for (let i = 0; i < 6; i += 1) {
      saves.push(tabA.outbox.saveRecord("patrol", patrol(i)), tabB.outbox.saveRecord("patrol", patrol(100 + i)));
    }
    const records = await Promise.all(saves);
    await tabA.settle();
    await tabB.settle();
    const stored = tabA.stored();
    assert.equal(stored.length, 12);
    assertOneChain(stored);
    assert.deepEqual(
      records.map((r) => r.chain.seq).sort((a, b) => a - b),
      stored.map((r) => r.chain.seq),
    );
    assert.equal(tabA.chains()[0].seq, 12);
  } finally {
    tabB.done();
    tabA.done();
  }
});

test("a phone whose device id was lost starts a new chain under its new id", LIMIT, () =>
  withPhone({}, async (phone) => {
    const [first] = await saveOffline(phone, 1);
    phone.done();
    const wiped = await makePhone({ server: phone.server, clock: phone.clock, indexedDB: phone.indexedDB });
    try {
      const [next] = await saveOffline(wiped, 1);
      assert.notEqual(next.chain.device, first.chain.device);
      assert.equal(next.chain.seq, 1);
      assert.equal(next.chain.prev, null);
    } finally {
      wiped.done();
    }
  }));

test("seen: the greatest server time received (pages and sync answers), only ever raised, goes into the next record", LIMIT, () =>
  withPhone({ serverTime: "2026-11-26T00:10:00Z" }, async (phone) => {
    const seenRow = () => phone.chains().find((r) => r.user_id === "seen");
    const seenOfNext = async () => (await saveOffline(phone, 1))[0].chain.seen;
    // The page's data-server-time.
    assert.equal(await seenOfNext(), "2026-11-26T00:10:00Z");
    // A sync answer's server_time (the fake server's true clock: 00:15:00 UTC).
    await syncAll(phone);
    assert.equal(seenRow().seen, "2026-11-26T00:15:00Z");
    assert.equal(await seenOfNext(), "2026-11-26T00:15:00Z");
    // An older page (the service worker's offline copy) does not lower it.
    phone.setPageServerTime("2026-11-20T09:00:00Z");
    assert.equal(await seenOfNext(), "2026-11-26T00:15:00Z");
    // Nor does an answer from a server whose clock was set back.
    phone.server.clockOffsetMs = -HOUR;
    await syncAll(phone);
    assert.equal(await seenOfNext(), "2026-11-26T00:15:00Z");
    // Times are compared as times, not as strings: 08:00+08:00 is 00:00Z, earlier.
    phone.setPageServerTime("2026-11-26T08:00:00+08:00");
    assert.equal(await seenOfNext(), "2026-11-26T00:15:00Z");
    phone.setPageServerTime("2026-11-26T02:00:00Z");
    assert.equal(await seenOfNext(), "2026-11-26T02:00:00Z");
    // Nonsense is ignored, and the phone's own clock never moves it.
    phone.setPageServerTime("not a time");
    phone.clock.jump(30 * DAY);
    assert.equal(await seenOfNext(), "2026-11-26T02:00:00Z");
    assert.equal(seenRow().seen, "2026-11-26T02:00:00Z");
  }));

test("startOutbox keeps the page's server time even before anything is saved", LIMIT, () =>
  withPhone({ serverTime: "2026-11-26T00:14:00Z" }, async (phone) => {
    phone.server.fault = "offline";
    phone.outbox.startOutbox();
    await phone.settle();
    assert.equal(await phone.outbox.seenServerTime(), "2026-11-26T00:14:00Z");
  }));

test("a refused record is kept across syncs and reloads, never resent by itself, and keeps its place in the chain", LIMIT, () =>
  withPhone({}, async (phone) => {
    const [, bad] = await saveOffline(phone, 2, (i) => patrol(i, { bad: i === 1 }));
    await syncAll(phone);
    const error = { code: "out_of_range", message: "油压应在 0–40 之间。", field: "oil_pressure_mpa" };
    assert.deepEqual(phone.stored().map((r) => [r.uuid, r.state, r.error]), [[bad.uuid, "rejected", error]]);
    const firstBatches = phone.server.syncBatches().length;
    // The next record follows it in the chain: the server sees where the refused one stands.
    const [next] = await saveOffline(phone, 1);
    assert.deepEqual([next.chain.seq, next.chain.prev], [3, bad.link]);
    for (let round = 0; round < 3; round += 1) {
      await saveOffline(phone, 1);
      await syncAll(phone);
      await phone.clock.advance(10 * MINUTE);
    }
    phone.done();
    const reopened = await makePhone({ server: phone.server, clock: phone.clock, indexedDB: phone.indexedDB, storage: phone.storage });
    try {
      reopened.outbox.startOutbox();
      await reopened.settle();
      const later = phone.server.syncBatches().slice(firstBatches);
      assert.ok(later.length >= 3);
      assert.ok(later.every((uuids) => !uuids.includes(bad.uuid)), "not sent again");
      assert.deepEqual(reopened.stored().map((r) => [r.uuid, r.state, r.error]), [[bad.uuid, "rejected", error]]);
      const counts = await reopened.outbox.counts();
      assert.equal(counts.rejected, 1);
      assert.equal(counts.pending, 0);
    } finally {
      reopened.done();
    }
  }));

test("resend puts a refused record back: sent again with its own chain place, it leaves once created", LIMIT, () =>
  withPhone({}, async (phone) => {
    let fixed = false;
    phone.server.refuse = (record) => (record.data.bad && !fixed ? { code: "not_your_station", message: "这口井不属于您的站。" } : null);
    const [bad] = await saveOffline(phone, 1, () => patrol(1, { bad: true }));
    await syncAll(phone);
    assert.equal(await phone.outbox.recordState(bad.uuid), "rejected");
    // Resent while the server still refuses: refused again, with the new answer.
    assert.equal(await phone.outbox.resendRejected(bad.uuid), true);
    await phone.settle();
    assert.equal(await phone.outbox.recordState(bad.uuid), "rejected");
    assert.equal(phone.stored()[0].error.code, "not_your_station");
    // The station was corrected on the server: resent, created, gone from the outbox.
    fixed = true;
    assert.equal(await phone.outbox.resendRejected(bad.uuid), true);
    assert.equal(await phone.outbox.recordState(bad.uuid), "pending");
    await phone.settle();
    assert.deepEqual(phone.stored(), []);
    const row = phone.server.rows.find((r) => r.uuid === bad.uuid);
    assert.deepEqual(row.record.chain, bad.chain);
    assert.equal(linkOf(row.record), bad.link);
    // Only refused records can be resent.
    const [pending] = await saveOffline(phone, 1);
    assert.equal(await phone.outbox.resendRejected(pending.uuid), false);
    assert.equal(await phone.outbox.resendRejected("no-such-uuid"), false);
  }));

test("discard: the refused record stays until the server has the discard record, which carries it whole", LIMIT, () =>
  withPhone({}, async (phone) => {
    const [bad, good] = await saveOffline(phone, 2, (i) => patrol(i, { bad: i === 0 }));
    await syncAll(phone);
    assert.equal(await phone.outbox.recordState(good.uuid), null);
    phone.server.fault = "offline";
    const discard = await phone.outbox.discardRejected(bad.uuid);
    await phone.settle();
    assert.equal(discard.type, "discard");
    assert.deepEqual(discard.data, {
      record: { uuid: bad.uuid, type: "patrol", created_at: bad.created_at, data: bad.data, chain: bad.chain },
      error_code: "out_of_range",
    });
    // Its own place in the chain, after the last record saved.
    assert.equal(discard.chain.seq, 3);
    assert.equal(discard.chain.prev, good.link);
    assert.equal(discard.link, linkOf(discard));
    assert.deepEqual(phone.stored().map((r) => [r.uuid, r.state]), [
      [bad.uuid, "discarding"],
      [discard.uuid, "pending"],
    ]);
    assert.deepEqual(await phone.outbox.counts().then((c) => [c.pending, c.rejected]), [2, 0], "discarding counts as waiting");
    // No network: both stay. The server commits but the answer is lost: both stay.
    await syncAll(phone);
    assert.equal(phone.stored().length, 2);
    phone.server.fault = "ok";
    phone.server.script = ["drop"];
    await syncAll(phone);
    assert.ok(phone.server.receipts.has(discard.uuid));
    assert.equal(phone.stored().length, 2);
    // Answered (duplicate now): both leave.
    await phone.clock.advance(5 * MINUTE);
    await phone.settle();
    assert.deepEqual(phone.stored(), []);
    // The refused record itself was never sent again; the server holds it inside the discard.
    const sentAfterRefusal = phone.server.syncBatches().slice(1).flat();
    assert.ok(!sentAfterRefusal.includes(bad.uuid));
    const row = phone.server.rows.find((r) => r.uuid === discard.uuid);
    assert.deepEqual(row.record.data, discard.data);
    assert.deepEqual(row.record.chain, discard.chain);
  }));

test("a refused discard keeps both records; a discard cannot be discarded, only resent", LIMIT, () =>
  withPhone({}, async (phone) => {
    let knowsDiscard = false;
    phone.server.refuse = (record) => {
      if (record.type === "discard" && !knowsDiscard) return { code: "unknown_type", message: "未知的记录类型：discard", field: "type" };
      return record.data.bad ? { code: "out_of_range", message: "读数超出范围。" } : null;
    };
    const [bad] = await saveOffline(phone, 1, () => patrol(1, { bad: true }));
    await syncAll(phone);
    const discard = await phone.outbox.discardRejected(bad.uuid);
    await phone.settle();
    assert.deepEqual(phone.stored().map((r) => [r.uuid, r.state]), [
      [bad.uuid, "discarding"],
      [discard.uuid, "rejected"],
    ]);
    // Discarding twice does nothing: the record is no longer a refused one.
    assert.equal(await phone.outbox.discardRejected(bad.uuid), null);
    assert.equal(await phone.outbox.discardRejected(discard.uuid), null);
    await syncAll(phone);
    assert.equal(phone.stored().length, 2);
    knowsDiscard = true;
    assert.equal(await phone.outbox.resendRejected(discard.uuid), true);
    await phone.settle();
    assert.deepEqual(phone.stored(), []);
  }));

test("a late refusal from another tab's sync does not undo a discard", LIMIT, async () => {
  const tabA = await makePhone();
  const tabB = await makePhone({ server: tabA.server, clock: tabA.clock, indexedDB: tabA.indexedDB, storage: tabA.storage });
  try {
    const [bad] = await saveOffline(tabA, 1, () => patrol(1, { bad: true }));
    const deliver = tabA.server.fetch;
    let held = false;
    // Tab A's batch is answered "rejected", but the answer is slow; meanwhile tab B sends the same record, hears the
    // refusal first, and the worker discards it there (offline: the discard waits in the outbox).
    globalThis.fetch = async (url, options) => {
      const response = await deliver(url, options);
      if (url === "/api/v1/sync" && !held) {
        held = true;
        await tabB.outbox.syncNow();
        await tabB.settle();
        tabA.server.fault = "offline";
        await tabB.outbox.discardRejected(bad.uuid);
        await tabB.settle();
      }
      return response;
    };
    await tabA.outbox.syncNow();
    await tabA.settle();
    assert.deepEqual(tabA.stored().map((r) => [r.type, r.state]), [
      ["patrol", "discarding"],
      ["discard", "pending"],
    ]);
    assert.equal(await tabA.outbox.discardRejected(bad.uuid), null, "never discarded twice");
    tabA.server.fault = "ok";
    await tabA.outbox.syncNow();
    await tabA.settle();
    assert.deepEqual(tabA.stored(), []);
  } finally {
    tabB.done();
    tabA.done();
  }
});

test("the export holds everything the server does not have: pending, refused and discarding, with their chain", LIMIT, () =>
  withPhone({}, async (phone) => {
    const key = "0f".repeat(32);
    await phone.outbox.storeSigningKey(7, key);
    const [refused, toDiscard] = await saveOffline(phone, 2, (i) => patrol(i, { bad: true }));
    await syncAll(phone);
    phone.server.fault = "offline";
    const discard = await phone.outbox.discardRejected(toDiscard.uuid);
    const [pending] = await saveOffline(phone, 1);
    const body = await phone.outbox.exportPending();
    assert.equal(body.format, "jingzhan-outbox");
    assert.deepEqual(
      body.records.map((r) => r.uuid),
      [refused.uuid, toDiscard.uuid, discard.uuid, pending.uuid],
    );
    const stored = new Map(phone.stored().map((r) => [r.uuid, r]));
    for (const record of body.records) {
      assert.deepEqual(record.chain, stored.get(record.uuid).chain);
      assert.equal(linkOf(record), stored.get(record.uuid).link);
      // Signed as the server checks it: over uuid, type, created_at, data and user_id (not the chain).
      const { uuid, type, created_at, data, user_id } = record;
      const expected = createHmac("sha256", Buffer.from(key, "hex")).update(canonical({ uuid, type, created_at, data, user_id })).digest("hex");
      assert.equal(record.sig, expected);
    }
    assertOneChain(phone.stored());
  }));

/** Open the database as the app's version 3 did and leave a record, a key and a photo in it. */
async function version3Database() {
  const indexedDB = new FakeIndexedDB();
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("jingzhan", 3);
    request.onupgradeneeded = () => {
      const v3 = request.result;
      v3.createObjectStore("outbox", { keyPath: "seq", autoIncrement: true }).createIndex("uuid", "uuid", { unique: true });
      v3.createObjectStore("keys", { keyPath: "user_id" });
      v3.createObjectStore("photos", { keyPath: "uuid" });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const old = {
    uuid: "3f2504e0-4f89-41d3-9a0c-0305e82c3301",
    type: "patrol",
    created_at: "2026-11-25T16:00:00+08:00",
    data: patrol(0),
    meta: { well_code: "海1-1" },
    user_id: 7,
    state: "pending",
    error: null,
    saved_at: 0,
  };
  await new Promise((resolve, reject) => {
    const tx = db.transaction(["outbox", "keys"], "readwrite");
    tx.objectStore("outbox").add(old);
    tx.objectStore("keys").put({ user_id: 7, key: "aa".repeat(32) });
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
  });
  return { indexedDB, old };
}

test("upgrading a phone from database version 3 keeps its outbox; old records go unchained, new ones chained", LIMIT, async () => {
  const { indexedDB, old } = await version3Database();
  await withPhone({ indexedDB }, async (phone) => {
    assert.deepEqual((await phone.outbox.allRecords()).map((r) => r.uuid), [old.uuid]);
    assert.equal(await phone.outbox.hasSigningKey(7), true);
    const [next] = await saveOffline(phone, 1);
    assert.equal(indexedDB.databases.get("jingzhan").version, 4);
    assert.equal(next.chain.seq, 1);
    assert.equal(next.chain.prev, null);
    assert.deepEqual(phone.stored().map((r) => r.uuid), [old.uuid, next.uuid]);
    await syncAll(phone);
    assert.deepEqual(phone.stored(), []);
    const sent = sentRecords(phone);
    assert.deepEqual(sent.map((r) => r.uuid), [old.uuid, next.uuid]);
    assert.equal("chain" in sent[0], false, "a record saved before the chain is sent unchained");
    assert.deepEqual(sent[1].chain, next.chain);
  });
});

test("the fake IndexedDB: a transaction cannot wait for a hash, and overlapping writers run one after the other", LIMIT, async () => {
  const indexedDB = new FakeIndexedDB();
  const db = await new Promise((resolve) => {
    const request = indexedDB.open("t", 1);
    request.onupgradeneeded = () => request.result.createObjectStore("s", { keyPath: "k" });
    request.onsuccess = () => resolve(request.result);
  });
  const tx = db.transaction("s", "readwrite");
  const store = tx.objectStore("s");
  await crypto.subtle.digest("SHA-256", new Uint8Array([1]));
  assert.throws(() => store.put({ k: 1 }), { name: "TransactionInactiveError" });
  const order = [];
  const write = (k) =>
    new Promise((resolve) => {
      const t = db.transaction("s", "readwrite");
      const s = t.objectStore("s");
      s.get("n").onsuccess = (event) => {
        order.push(k);
        s.put({ k: "n", v: ((event.target.result && event.target.result.v) || 0) + 1 });
      };
      t.oncomplete = resolve;
    });
  await Promise.all([write("a"), write("b"), write("c")]);
  await idle();
  assert.deepEqual(order, ["a", "b", "c"]);
  assert.equal(indexedDB.dump("t", "s").find((r) => r.k === "n").v, 3, "each writer read what the one before wrote");
});

test("withdraw: a record not sent yet travels whole inside a discard marked withdrawn; never while a sync runs", LIMIT, () =>
  withPhone({}, async (phone) => {
    phone.server.fault = "offline";
    const [kept, taken] = await saveOffline(phone, 2);
    const withdrawal = await phone.outbox.withdrawPending(taken.uuid);
    await phone.settle();
    assert.deepEqual(withdrawal.data, {
      record: { uuid: taken.uuid, type: "patrol", created_at: taken.created_at, data: taken.data, chain: taken.chain },
      error_code: "withdrawn",
    });
    assert.equal(withdrawal.chain.seq, 3); // its own place: no gap in the chain
    assert.equal(await phone.outbox.withdrawPending(taken.uuid), null, "already withdrawn");
    assert.equal(await phone.outbox.withdrawPending(withdrawal.uuid), null, "a withdrawal is not withdrawn");
    // A sync on its way may be carrying the record: withdrawing is refused until it is over.
    let release;
    const real = phone.server.fetch;
    globalThis.fetch = (url, options) => new Promise((resolve) => { release = () => resolve(real(url, options)); });
    phone.server.fault = "ok";
    const syncing = phone.outbox.syncNow();
    await idle();
    await assert.rejects(phone.outbox.withdrawPending(kept.uuid), { message: "正在同步，请稍候再撤回。" });
    release();
    globalThis.fetch = real;
    await syncing;
    await syncAll(phone);
    assert.deepEqual(phone.stored(), []);
    assert.ok(phone.server.receipts.has(kept.uuid) && phone.server.receipts.has(withdrawal.uuid));
    assert.ok(!phone.server.receipts.has(taken.uuid), "the withdrawn record was never sent on its own");
  }));
