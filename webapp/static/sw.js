// sw.js — the service worker (served at /sw.js with its version and precache list filled in).
// Static files: cache-first from a versioned cache. Pages: network first (with a timeout, for weak
// signal), then the offline copy, then the offline page. Only GET; records go through the outbox.
// Well pages are kept by id: a QR label's /w/<token> and an NFC tag's /n/<id>?e=…&c=… open the kept /wells/<id>
// offline (the label found through the directory's hashes), so the offline copy holds no label token.
const VERSION = "__VERSION__";
const PRECACHE = __PRECACHE__;
const OFFLINE_PAGES = __OFFLINE_PAGES__;
const SHELL = `jingzhan-shell-${VERSION}`;
const PAGES = `jingzhan-pages-${VERSION}`;
const DOWNLOAD_PATTERN = /\.(xlsx|csv|pdf)$/;
const NETWORK_TIMEOUT_MS = 4000;
const WARM_FETCH_TIMEOUT_MS = 20000;
const DIRECTORY_FRESH_MS = 15 * 60 * 1000;
const PAGE_PATTERN = /^\/(|scan|records|me|wells\/|wells\/\d+|checks\/new|hazards\/new|suggestions\/new|procedures\/[a-z_:%0-9A-F]*|w\/[A-Za-z0-9_-]{1,64}|n\/\d{1,15})$/;
const LABEL_PATH = /^\/w\/([A-Za-z0-9_-]{1,64})$/;
const TAG_PATH = /^\/n\/(\d{1,15})$/;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(SHELL)
      .then((cache) => cache.addAll(PRECACHE.map((url) => new Request(url, { cache: "reload" }))))
      .catch(async (error) => {
        // A download broke off (weak signal): this worker is discarded. Tell the pages, which try again later.
        const pages = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
        for (const client of pages) client.postMessage({ type: "install-failed", error: String(error) });
        throw error;
      })
  );
  // The first version takes over at once; later ones wait for the user's "立即更新".
  if (!self.registration.active) self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("jingzhan-") && k !== SHELL && k !== PAGES).map((k) => caches.delete(k))))
      .then(() => self.clients.claim())
  );
});

// One warm-up at a time, shared by every page that asks for it; a logout bumps the generation, which stops the
// running one and keeps nothing more of the previous user's pages.
let warming = null;
let generation = 0;

self.addEventListener("message", (event) => {
  const message = event.data || {};
  if (message.type === "skip-waiting") self.skipWaiting();
  if (message.type === "claim") event.waitUntil(self.clients.claim());
  if (message.type === "warm") {
    if (!warming) {
      const user = message.user;
      const failed = [];
      warming = warm(generation, failed)
        .catch((error) => {
          failed.push(String(error));
          return false;
        })
        // Tell every open page how it went (the page that asked may be gone): a page asks again if it is incomplete,
        // and keeps what failed for whoever looks (the browser tests print it when a warm-up never completes).
        .then(async (ok) => {
          const message = { type: "warmed", ok, user, failed: failed.slice(0, 20) };
          for (const client of await self.clients.matchAll({ type: "window" })) client.postMessage(message);
        })
        .finally(() => {
          warming = null;
        });
    }
    event.waitUntil(warming);
  }
  if (message.type === "forget-pages") {
    generation += 1;
    event.waitUntil(caches.delete(PAGES));
  }
});

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error) => {
        clearTimeout(timer);
        reject(error);
      }
    );
  });
}

async function keep(request, response) {
  // Redirects (e.g. to the login page), errors and no-store responses (downloads, tokens) are never kept.
  const stored = !/no-store/.test(response.headers.get("Cache-Control") || "");
  // "default": a response the warm-up rebuilt from a same-origin one it read in full.
  if (response.ok && !response.redirected && (response.type === "basic" || response.type === "default") && stored) {
    const cache = await caches.open(PAGES);
    await cache.put(request, response.clone());
  }
  return response;
}

async function page(request) {
  const url = new URL(request.url);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT_MS);
    // A tag's address is new at every tap: kept, they would pile up. The well's page kept by id serves them offline.
    return TAG_PATH.test(url.pathname) ? response : await keep(request, response);
  } catch {
    return (await offlineCopy(request, url)) || (await caches.match("/offline")) || Response.error();
  }
}

/** The kept copy of a page; a label's or a tag's address gets its well's page, kept by id. */
async function offlineCopy(request, url) {
  const cache = await caches.open(PAGES);
  const wellId = await wellOfAddress(url.pathname);
  const byId = wellId ? await cache.match(`/wells/${wellId}`) : null;
  return byId || (await cache.match(request)) || (await cache.match(url.pathname, { ignoreSearch: true }));
}

/** The id of the well a tag's or a label's address names: the label is found by its hash in the kept directory. */
async function wellOfAddress(pathname) {
  const tag = TAG_PATH.exec(pathname);
  if (tag) return tag[1];
  const label = LABEL_PATH.exec(pathname);
  if (!label) return null;
  try {
    const directory = await caches.match("/api/v1/wells");
    if (!directory) return null;
    const { wells } = await directory.json();
    const hash = await labelHash(label[1]);
    const well = (wells || []).find((w) => w.label_hash === hash);
    return well ? well.id : null;
  } catch {
    return null; // no usable directory: the page kept under this very address, if any, or the offline page
  }
}

/** webapp/labels.py label_hash: the first 32 hex digits of sha256("jingzhan-label:" + token). */
async function labelHash(token) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(`jingzhan-label:${token}`));
  return Array.from(new Uint8Array(digest).slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The station's well directory and the check templates: the kept copy at once, so a scan never waits on weak
 * signal (a code not in it is looked up by the server when online); fetched again in the background when the copy
 * is older than DIRECTORY_FRESH_MS (the warm-up renews it too). The network only while there is no copy yet. */
async function directory(event) {
  const request = event.request;
  const cached = await caches.match(request);
  if (!cached) {
    try {
      return await keep(request, await withTimeout(fetch(request), NETWORK_TIMEOUT_MS));
    } catch {
      return Response.error();
    }
  }
  const fetchedAt = Date.parse(cached.headers.get("Date") || "") || 0;
  if (Date.now() - fetchedAt > DIRECTORY_FRESH_MS) {
    event.waitUntil(withTimeout(fetch(request), WARM_FETCH_TIMEOUT_MS).then((response) => keep(request, response)).catch(() => null));
  }
  return cached;
}

async function staticFile(request) {
  const cached = await caches.match(request, { ignoreSearch: true });
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) (await caches.open(SHELL)).put(request, response.clone());
  return response;
}

class WarmStopped extends Error {}

/** Fetch the station's well directory and every well's page into the offline copy; true when all of it came. */
async function warm(started, failed) {
  // A fetch of the warm-up: stops the warm-up at a logout or when the session is gone; a hung request gives up.
  const get = async (url) => {
    if (started !== generation) throw new WarmStopped();
    const response = await withTimeout(fetch(url, { credentials: "same-origin", redirect: "manual" }), WARM_FETCH_TIMEOUT_MS);
    if (response.status === 401 || response.type === "opaqueredirect" || started !== generation) throw new WarmStopped();
    // The whole body within the time limit too: a response whose body stalls would hold the warm-up forever.
    const body = await withTimeout(response.arrayBuffer(), WARM_FETCH_TIMEOUT_MS);
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  let done = 0;
  const progress = async (url, total) => {
    done += 1;
    for (const client of await self.clients.matchAll({ type: "window" })) {
      client.postMessage({ type: "warm-progress", done, total, url });
    }
  };
  const store = async (url, response) => {
    if (started === generation) await keep(new Request(url), response.clone());
  };
  try {
    const response = await get("/api/v1/wells");
    if (!response.ok) {
      failed.push(`/api/v1/wells: ${response.status}`);
      return false;
    }
    await store("/api/v1/wells", response);
    const { wells } = await response.json();
    await store("/api/v1/check-templates", await get("/api/v1/check-templates"));
    // The wells first: they are what a worker needs at the wellhead.
    const urls = [...wells.map((w) => `/wells/${w.id}`), "/", "/scan", "/records", "/me", "/wells/", ...OFFLINE_PAGES];
    const pictures = new Set();
    let complete = true;
    for (const url of urls) {
      try {
        const page = await get(url);
        await store(url, page);
        await progress(url, urls.length);
        if (!page.ok) failed.push(`${url}: ${page.status}`);
        complete = complete && page.ok;
        // Procedures have pictures: keep those too, so a procedure reads the same at the wellhead.
        if (url.startsWith("/procedures/") && page.ok) {
          for (const match of (await page.text()).matchAll(/\/photos\/[0-9a-f-]{36}\.jpg/g)) pictures.add(match[0]);
        }
      } catch (error) {
        if (error instanceof WarmStopped) throw error;
        failed.push(`${url}: ${error}`);
        complete = false; // one page failed (or the network went): keep going with the rest
      }
    }
    for (const url of pictures) {
      try {
        await store(url, await get(url));
      } catch (error) {
        if (error instanceof WarmStopped) throw error;
        failed.push(`${url}: ${error}`);
        complete = false;
      }
    }
    return complete;
  } catch (error) {
    if (error instanceof WarmStopped) {
      failed.push("stopped (logout or session gone)");
      return false;
    }
    throw error;
  }
}

/** Photos never change under their uuid: the copy kept for offline is as good as the server's. */
async function photo(request) {
  const cached = await caches.match(request);
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (DOWNLOAD_PATTERN.test(url.pathname)) return; // reports, labels, badges: straight from the network, however slow
  // The scripts' translations are part of the shell (precached; a changed catalogue is a new worker version).
  if (url.pathname.startsWith("/static/") || url.pathname.startsWith("/i18n/")) {
    event.respondWith(staticFile(request));
  } else if (url.pathname.startsWith("/photos/")) {
    event.respondWith(photo(request));
  } else if (url.pathname === "/api/v1/wells" || url.pathname === "/api/v1/check-templates") {
    event.respondWith(directory(event));
  } else if (request.mode === "navigate" || PAGE_PATTERN.test(url.pathname)) {
    if (!url.pathname.startsWith("/api/")) event.respondWith(page(request));
  }
});

// Web Push (optional): show what the server sent, and open its page when tapped — never a page of another site.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = { body: event.data ? event.data.text() : "" };
  }
  event.waitUntil(
    self.registration.showNotification(data.title || "井站通", {
      body: data.body || "",
      tag: data.tag || undefined,
      lang: "zh-CN",
      icon: "/icons/icon-192.png",
      data: { url: data.url || "/notifications/" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL((event.notification.data && event.notification.data.url) || "/notifications/", self.location.origin);
  if (url.origin !== self.location.origin) return;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((windows) => {
      const open = windows.find((w) => w.url === url.href);
      return open ? open.focus() : self.clients.openWindow(url.href);
    })
  );
});
