// fake-indexeddb.mjs — a small in-memory IndexedDB, just the part outbox.js uses, with the same event order:
// requests run one after the other on later turns of the event loop, a transaction commits once it has no
// request left, a failed request aborts it (and a read-write transaction's changes are undone).
// As in browsers, transactions whose stores overlap run one after the other when one of them writes (in the order
// they were created), and a request is refused unless made in the code that created the transaction or inside one
// of its requests' callbacks: a transaction cannot wait for anything else (a hash, a fetch) between its requests.
// (Stricter than browsers, so that it never depends on timing: "in" means synchronously — a promise continuation,
// even of an already resolved promise, is outside.)
//
// Enough for: indexedDB.open(name, version) with onupgradeneeded; createObjectStore({ keyPath, autoIncrement });
// createIndex(name, keyPath, { unique }); transaction(store or [stores], mode); get, getAll, add, put, delete;
// index(name).get; openCursor with continue, update and delete. `quotaExceeded = true` makes every read-write
// transaction that wrote something abort with a QuotaExceededError at commit, as a full phone does.

// Real scheduling, never the tests' fake clock (which replaces setTimeout, not setImmediate).
const later = (fn) => setImmediate(fn);

function compareKeys(a, b) {
  const rank = (k) => (typeof k === "number" ? 0 : typeof k === "string" ? 1 : 2);
  if (rank(a) !== rank(b)) return rank(a) - rank(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function domError(name, message) {
  return new DOMException(message, name);
}

class FakeRequest {
  constructor(source, transaction) {
    this.source = source;
    this.transaction = transaction;
    this.readyState = "pending";
    this.result = undefined;
    this.error = null;
    this.onsuccess = null;
    this.onerror = null;
  }
}

class StoreData {
  constructor(name, { keyPath = null, autoIncrement = false } = {}) {
    this.name = name;
    this.keyPath = keyPath;
    this.autoIncrement = autoIncrement;
    this.records = new Map();
    this.nextKey = 1;
    this.indexes = new Map();
  }

  snapshot() {
    return { records: new Map(this.records), nextKey: this.nextKey };
  }

  restore(saved) {
    this.records = saved.records;
    this.nextKey = saved.nextKey;
  }

  sortedKeys() {
    return [...this.records.keys()].sort(compareKeys);
  }

  write(value, { overwrite }) {
    const copy = structuredClone(value);
    let key = this.keyPath ? copy[this.keyPath] : undefined;
    if (key === undefined) {
      if (!this.autoIncrement) throw domError("DataError", "No key and no key generator.");
      key = this.nextKey;
      copy[this.keyPath] = key;
    }
    if (typeof key === "number" && key >= this.nextKey) this.nextKey = Math.floor(key) + 1;
    if (!overwrite && this.records.has(key)) throw domError("ConstraintError", "Key already exists in the object store.");
    for (const index of this.indexes.values()) {
      if (!index.unique) continue;
      const value2 = copy[index.keyPath];
      for (const [otherKey, other] of this.records) {
        if (otherKey !== key && other[index.keyPath] === value2) {
          throw domError("ConstraintError", `Unique index ${index.name} already holds ${value2}.`);
        }
      }
    }
    this.records.set(key, copy);
    return key;
  }
}

class FakeIndex {
  constructor(transaction, store, index) {
    this.transaction = transaction;
    this.store = store;
    this.index = index;
  }

  get(value) {
    return this.transaction.request(this, () => {
      for (const key of this.store.sortedKeys()) {
        const record = this.store.records.get(key);
        if (record[this.index.keyPath] === value) return structuredClone(record);
      }
      return undefined;
    });
  }
}

class FakeCursor {
  constructor(transaction, store, request, key) {
    this.transaction = transaction;
    this.store = store;
    this.request = request;
    this.key = this.primaryKey = key;
    this.value = structuredClone(store.records.get(key));
  }

  continue() {
    const after = this.key;
    this.transaction.rerun(this.request, () => {
      const next = this.store.sortedKeys().find((k) => compareKeys(k, after) > 0);
      return next === undefined ? null : new FakeCursor(this.transaction, this.store, this.request, next);
    });
  }

  delete() {
    const key = this.key;
    return this.transaction.request(this, () => {
      this.transaction.wrote = true;
      this.store.records.delete(key);
    });
  }

  update(value) {
    return this.transaction.request(this, () => {
      if (this.store.keyPath && value[this.store.keyPath] !== this.key) {
        throw domError("DataError", "The cursor's key cannot change.");
      }
      this.transaction.wrote = true;
      return this.store.write(value, { overwrite: true });
    });
  }
}

class FakeObjectStore {
  constructor(transaction, store) {
    this.transaction = transaction;
    this.store = store;
    this.name = store.name;
  }

  get(key) {
    return this.transaction.request(this, () => {
      const record = this.store.records.get(key);
      return record === undefined ? undefined : structuredClone(record);
    });
  }

  getAll() {
    return this.transaction.request(this, () => this.store.sortedKeys().map((k) => structuredClone(this.store.records.get(k))));
  }

  add(value) {
    return this.writeRequest(() => this.store.write(value, { overwrite: false }));
  }

  put(value) {
    return this.writeRequest(() => this.store.write(value, { overwrite: true }));
  }

  delete(key) {
    return this.writeRequest(() => {
      this.store.records.delete(key);
    });
  }

  writeRequest(op) {
    if (this.transaction.mode !== "readwrite") throw domError("ReadOnlyError", "The transaction is read-only.");
    return this.transaction.request(this, () => {
      this.transaction.wrote = true;
      return op();
    });
  }

  index(name) {
    const index = this.store.indexes.get(name);
    if (!index) throw domError("NotFoundError", `No index ${name}.`);
    return new FakeIndex(this.transaction, this.store, index);
  }

  openCursor() {
    const request = new FakeRequest(this, this.transaction);
    this.transaction.rerun(request, () => {
      const first = this.store.sortedKeys()[0];
      return first === undefined ? null : new FakeCursor(this.transaction, this.store, request, first);
    });
    return request;
  }
}

class FakeTransaction {
  constructor(db, names, mode) {
    this.db = db;
    this.mode = mode;
    this.names = [].concat(names);
    for (const name of this.names) {
      if (!db.stores.has(name)) throw domError("NotFoundError", `No object store ${name}.`);
    }
    this.pending = 0;
    this.started = false;
    this.waiting = []; // requests made before the transaction could start
    this.active = true; // until the code that created it yields
    queueMicrotask(() => {
      this.active = false;
    });
    this.done = false;
    this.wrote = false;
    this.error = null;
    this.oncomplete = null;
    this.onerror = null;
    this.onabort = null;
    this.saved = null;
    db.live.push(this);
    db.startWaiting();
  }

  /** Whether this transaction must wait for an earlier one that is still running (or waiting) on the same stores. */
  blocked() {
    for (const other of this.db.live) {
      if (other === this) return false;
      const overlaps = other.names.some((n) => this.names.includes(n));
      if (overlaps && (other.mode === "readwrite" || this.mode === "readwrite")) return true;
    }
    return false;
  }

  start() {
    this.started = true;
    this.saved = this.mode === "readwrite" ? new Map(this.names.map((n) => [n, this.db.stores.get(n).snapshot()])) : null;
    for (const run of this.waiting.splice(0)) run();
    this.scheduleFinish();
  }

  objectStore(name) {
    if (!this.names.includes(name)) throw domError("NotFoundError", `${name} is not in this transaction.`);
    return new FakeObjectStore(this, this.db.stores.get(name));
  }

  request(source, op) {
    const request = new FakeRequest(source, this);
    this.rerun(request, op);
    return request;
  }

  rerun(request, op) {
    if (this.done) throw domError("TransactionInactiveError", "The transaction has finished.");
    if (!this.active) {
      throw domError("TransactionInactiveError", "The transaction is not active: a request made outside its callbacks (after an await?).");
    }
    this.pending += 1;
    const run = () =>
      later(() => {
        this.pending -= 1;
        if (this.done) return;
        try {
          request.result = op();
        } catch (error) {
          request.readyState = "done";
          request.error = error;
          this.callback(request.onerror, { type: "error", target: request });
          this.abort(error);
          return;
        }
        request.readyState = "done";
        this.callback(request.onsuccess, { type: "success", target: request });
        this.scheduleFinish();
      });
    if (this.started) run();
    else this.waiting.push(run);
  }

  callback(handler, event) {
    if (!handler) return;
    this.active = true;
    try {
      handler(event);
    } finally {
      this.active = false;
    }
  }

  scheduleFinish() {
    later(() => {
      if (this.done || this.pending > 0) return;
      if (this.wrote && this.db.factory.quotaExceeded) {
        this.abort(domError("QuotaExceededError", "The quota has been exceeded."));
        return;
      }
      this.finish();
      if (this.oncomplete) this.oncomplete({ type: "complete", target: this });
    });
  }

  finish() {
    this.done = true;
    this.db.live.splice(this.db.live.indexOf(this), 1);
    this.db.startWaiting();
  }

  abort(error) {
    if (this.done) return;
    this.error = error;
    if (this.saved) for (const [name, saved] of this.saved) this.db.stores.get(name).restore(saved);
    this.finish();
    if (this.onerror) this.onerror({ type: "error", target: this });
    if (this.onabort) this.onabort({ type: "abort", target: this });
  }
}

class FakeDatabase {
  constructor(factory, name) {
    this.factory = factory;
    this.name = name;
    this.version = 0;
    this.stores = new Map();
    this.live = []; // transactions not finished yet, in the order they were created
    const stores = this.stores;
    this.objectStoreNames = { contains: (n) => stores.has(n), get length() { return stores.size; } };
  }

  createObjectStore(name, options) {
    if (this.stores.has(name)) throw domError("ConstraintError", `Object store ${name} exists.`);
    const store = new StoreData(name, options);
    this.stores.set(name, store);
    return {
      name,
      createIndex: (indexName, keyPath, { unique = false } = {}) => {
        store.indexes.set(indexName, { name: indexName, keyPath, unique });
      },
    };
  }

  transaction(names, mode = "readonly") {
    this.factory.transactions += 1;
    return new FakeTransaction(this, names, mode);
  }

  startWaiting() {
    for (const tx of this.live) if (!tx.started && !tx.blocked()) tx.start();
  }

  close() {}
}

export class FakeIndexedDB {
  constructor() {
    this.databases = new Map();
    this.quotaExceeded = false;
    this.transactions = 0;
  }

  open(name, version = 1) {
    const request = new FakeRequest(null, null);
    request.onupgradeneeded = null;
    later(() => {
      let db = this.databases.get(name);
      if (!db) {
        db = new FakeDatabase(this, name);
        this.databases.set(name, db);
      }
      if (version < db.version) {
        request.error = domError("VersionError", "The requested version is lower than the existing one.");
        if (request.onerror) request.onerror({ type: "error", target: request });
        return;
      }
      request.result = db;
      if (version > db.version) {
        const oldVersion = db.version;
        db.version = version;
        if (request.onupgradeneeded) request.onupgradeneeded({ type: "upgradeneeded", target: request, oldVersion, newVersion: version });
      }
      request.readyState = "done";
      if (request.onsuccess) request.onsuccess({ type: "success", target: request });
    });
    return request;
  }

  /** Every value in a store, oldest key first (for the tests' own checks). */
  dump(dbName, storeName) {
    const store = this.databases.get(dbName)?.stores.get(storeName);
    return store ? store.sortedKeys().map((k) => structuredClone(store.records.get(k))) : [];
  }
}
