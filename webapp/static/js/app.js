// app.js — page-wide wiring: service worker and its updates, the sync indicator, the offline banner,
// warming the offline copy of the station's wells, the warning before logging out with records unsent,
// and the CSRF token on every form post and htmx request.
import { _ } from "./i18n.js";
import { counts, currentUserId, hasSigningKey, saved, saving, startOutbox, storeSigningKey } from "./outbox.js";

// The offline copy is refreshed once in a shift of 8 hours (and after every login): each refresh is about 1 MB of
// well pages, and every 30 minutes it was most of a worker's month of mobile data (bench/client_pages.py).
const WARM_EVERY_MS = 8 * 60 * 60 * 1000;
const WARM_RETRY_MS = 15 * 1000;
const BELL_EVERY_MS = 60 * 1000;
// "__Host-" when served over HTTPS (webapp/csrf.py).
const CSRF_COOKIES = ["__Host-jingzhan_csrf", "jingzhan_csrf"];
const CSRF_FIELD = "csrf_token";
const CSRF_HEADER = "X-CSRF-Token";

function csrfCookie() {
  const pairs = document.cookie.split("; ");
  for (const name of CSRF_COOKIES) {
    const pair = pairs.find((c) => c.startsWith(`${name}=`));
    if (pair) return decodeURIComponent(pair.slice(name.length + 1));
  }
  return null;
}

/** The session's CSRF token: the cookie the server keeps current, else the one this page was rendered with. */
function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return csrfCookie() || (meta ? meta.content : null);
}

function sameOrigin(url) {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

// A page from the offline copy carries the token of the session it was rendered in; after a new login the
// cookie holds the current one, so it is copied in when the form is sent (capture: before htmx and the
// page's own handlers, and before a handler that defers the post with form.submit()).
function stampCsrf() {
  document.addEventListener(
    "submit",
    (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement)) return;
      const method = (event.submitter && event.submitter.getAttribute("formmethod")) || form.method;
      if (method.toLowerCase() !== "post" || !sameOrigin(form.action)) return;
      const token = csrfToken();
      if (!token) return;
      let field = form.querySelector(`input[name="${CSRF_FIELD}"]`);
      if (!field) {
        field = document.createElement("input");
        field.type = "hidden";
        field.name = CSRF_FIELD;
        form.prepend(field);
      }
      field.value = token;
    },
    true
  );
  document.addEventListener("htmx:configRequest", (event) => {
    const token = csrfToken();
    if (event.detail.verb !== "get" && token && sameOrigin(event.detail.path)) event.detail.headers[CSRF_HEADER] = token;
  });
  // htmx does not swap a 400: show the server's "页面已过期" notice instead of failing silently.
  document.addEventListener("htmx:beforeSwap", (event) => {
    const xhr = event.detail.xhr;
    if (!xhr || !xhr.getResponseHeader("X-CSRF-Expired")) return;
    event.detail.shouldSwap = false;
    const old = document.getElementById("expired-toast");
    if (old) old.remove();
    const holder = document.createElement("template");
    holder.innerHTML = xhr.responseText;
    document.body.append(holder.content);
  });
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-reload]")) location.reload();
  });
}

// Events by which a user asks for something (a load or a poll that fails stays quiet: the page says what it can).
const USER_EVENTS = new Set(["click", "submit", "change", "input", "keyup", "search"]);

/** An htmx action that failed — no network, or an answer the page does not swap (403, 404, 5xx) — is said so in a
 * `role="alert"` toast, never dropped silently. The error page's own words are shown when it sent one. */
function reportFailedActions() {
  const byUser = (event) => {
    const trigger = event.detail.requestConfig && event.detail.requestConfig.triggeringEvent;
    return Boolean(trigger && USER_EVENTS.has(trigger.type));
  };
  const show = (text) => {
    const old = document.getElementById("error-toast");
    if (old) old.remove();
    const toast = document.createElement("div");
    toast.className = "toast";
    toast.id = "error-toast";
    toast.setAttribute("role", "alert");
    const words = document.createElement("span");
    words.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "button";
    close.textContent = _("知道了");
    close.addEventListener("click", () => toast.remove());
    toast.append(words, close);
    document.body.append(toast);
  };
  document.addEventListener("htmx:sendError", (event) => {
    if (byUser(event)) show(_("网络不通，这一步没有完成。请到有信号的地方再试一次。"));
  });
  document.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    if (!xhr || !byUser(event) || xhr.getResponseHeader("X-CSRF-Expired") || xhr.getResponseHeader("HX-Redirect")) return;
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const heading = page.querySelector(".error-page h1");
    const detail = page.querySelector(".error-page h1 + p");
    const said = [heading, detail].filter(Boolean).map((node) => node.textContent.trim()).join(" ");
    show(said || _("这一步没有完成（错误代码 %(status)s），请稍后再试。", { status: xhr.status }));
  });
}

/** Logged in but no token cookie (a page from the offline copy after the browser restarted): ask for one. */
function refreshCsrfCookie() {
  if (!currentUserId() || csrfCookie() || !navigator.onLine) return;
  fetch("/api/v1/me", { credentials: "same-origin", redirect: "manual" }).catch(() => {});
}

function showConnectivity() {
  let banner = document.querySelector(".offline-banner");
  if (navigator.onLine) {
    if (banner) banner.remove();
  } else if (!banner) {
    banner = document.createElement("p");
    banner.className = "offline-banner";
    banner.setAttribute("role", "status");
    banner.textContent = _("当前无网络，记录会先存在手机上");
    document.body.prepend(banner);
  }
}

function renderSyncStatus(c) {
  const el = document.getElementById("sync-status");
  if (!el) return;
  let text;
  let state;
  if (c.needsLogin && c.pending) {
    text = _("请重新登录后同步 %(count)s 条", { count: c.pending });
    state = "login";
  } else if (c.syncing && c.pending) {
    text = _("同步中… %(count)s 条", { count: c.pending });
    state = "syncing";
  } else if (c.pending) {
    text = _("待同步 %(count)s 条", { count: c.pending });
    state = "pending";
  } else if (c.rejected) {
    text = _("%(count)s 条被拒收", { count: c.rejected });
    state = "rejected";
  } else {
    text = _("已全部同步");
    state = "synced";
  }
  el.textContent = text;
  el.dataset.state = state;
  el.dataset.pending = String(c.pending);
  el.hidden = false;
}

function showUpdate(worker) {
  if (document.getElementById("update-toast")) return;
  const toast = document.createElement("div");
  toast.id = "update-toast";
  toast.className = "toast";
  toast.setAttribute("role", "alert");
  const text = document.createElement("span");
  text.textContent = _("井站通有新版本。未同步的记录不受影响。");
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button primary";
  button.textContent = _("立即更新");
  button.addEventListener("click", () => worker.postMessage({ type: "skip-waiting" }));
  toast.append(text, button);
  document.body.append(toast);
}

async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  if (registration.waiting && navigator.serviceWorker.controller) showUpdate(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const incoming = registration.installing;
    incoming.addEventListener("statechange", () => {
      if (incoming.state === "installed" && navigator.serviceWorker.controller) showUpdate(incoming);
    });
  });
  navigator.serviceWorker.addEventListener("message", rememberWarmed);
  navigator.serviceWorker.addEventListener("message", (event) => {
    if ((event.data || {}).type === "install-failed") {
      localStorage.setItem("jingzhan-sw-install", JSON.stringify({ failed: event.data.error, at: Date.now() }));
    }
  });
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only after the user asked for the update: never mix old pages with new assets.
    if (!reloading && document.getElementById("update-toast")) {
      reloading = true;
      location.reload();
    }
  });
  const ready = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    // First visit: the new worker claims the open pages as it activates. A page that was still loading then (the
    // page the login redirected to, while the worker installed) is not among them: ask the worker to claim it.
    const claimed = new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    if (ready.active) ready.active.postMessage({ type: "claim" });
    await claimed;
  }
  warmOfflineCopy();
}

/** Keep an offline copy of the station's well directory and well pages, refreshed now and then. */
async function warmOfflineCopy(force = false) {
  const me = currentUserId();
  if (!me || !navigator.onLine || !navigator.serviceWorker.controller) return;
  const key = `jingzhan-warmed-${me}`;
  // Pages are kept in the language they were fetched in: a new language (我的 → 语言) is a new copy at once.
  const sameLanguage = localStorage.getItem(`jingzhan-lang-warmed-${me}`) === document.documentElement.lang;
  if (!force && sameLanguage && Date.now() - Number(localStorage.getItem(key) || 0) < WARM_EVERY_MS) return;
  navigator.serviceWorker.controller.postMessage({ type: "warm", user: me });
  localStorage.setItem("jingzhan-warm-progress", JSON.stringify({ asked: Date.now() }));
}

let warmRetryMs = 0;
let warmRetryTimer = null;

function rememberWarmed(event) {
  const me = currentUserId();
  const data = event.data || {};
  if (data.type === "warm-progress") {
    // Where the warm-up is, for whoever looks (the browser tests print it when a warm-up never completes).
    localStorage.setItem("jingzhan-warm-progress", JSON.stringify({ done: data.done, total: data.total, url: data.url, at: Date.now() }));
    return;
  }
  if (!me || data.type !== "warmed" || String(data.user) !== String(me)) return;
  if (data.ok) {
    warmRetryMs = 0;
    localStorage.setItem(`jingzhan-warmed-${me}`, String(Date.now()));
    localStorage.setItem(`jingzhan-lang-warmed-${me}`, document.documentElement.lang);
    localStorage.removeItem("jingzhan-warm-failed");
  } else if (!warmRetryTimer) {
    localStorage.setItem("jingzhan-warm-failed", JSON.stringify(data.failed || []));
    // Only a complete copy counts: an interrupted one is fetched again soon, less often each time.
    warmRetryMs = Math.min(warmRetryMs ? warmRetryMs * 2 : WARM_RETRY_MS, WARM_EVERY_MS);
    warmRetryTimer = setTimeout(() => {
      warmRetryTimer = null;
      warmOfflineCopy(true);
    }, warmRetryMs);
  }
}

function guardLogout() {
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("[data-logout]") || form.dataset.confirmed) return;
    event.preventDefault();
    const c = await counts();
    if (c.pending && !window.confirm(_("还有 %(count)s 条记录未同步。退出后记录仍保存在本机，需您本人再次登录才能同步。确定退出吗？", { count: c.pending }))) {
      return;
    }
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "forget-pages" });
    }
    localStorage.removeItem(`jingzhan-warmed-${currentUserId()}`);
    form.dataset.confirmed = "1";
    form.submit();
  });
}

/** A tap on a link of this site while a record or photo is being written waits until it is written: leaving the
 * page then would take the unfinished write with it (a few milliseconds, tens on a slow phone). Back or reload in
 * that moment asks first. */
function holdLeavingWhileSaving() {
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    if (link.target || link.hasAttribute("download") || new URL(link.href, location.href).origin !== location.origin) return;
    if (!saving()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    saved().then(() => location.assign(link.href));
  }, true);
  window.addEventListener("beforeunload", (event) => {
    if (saving()) event.preventDefault();
  });
}

const SIGNING_KEY_RETRIES = 5;

/** Fetch once the key this user's records are signed with when exported to a file. A fetch that fails (the network
 * went, the service worker was taking over, the server was busy) is tried again a few times with growing pauses,
 * and again whenever the phone comes back online: a phone without it cannot export its records to a file. */
async function keepSigningKey(attempt = 0) {
  const me = currentUserId();
  if (!me || !navigator.onLine || (await hasSigningKey(me))) return;
  let again = true;
  try {
    const response = await fetch("/api/v1/signing-key", { credentials: "same-origin", redirect: "manual" });
    again = response.status >= 500; // a redirect (logged out) or a refusal is not tried again
    if (response.ok) {
      const body = await response.json();
      again = false;
      if (body.user_id === me) await storeSigningKey(me, body.key);
    }
  } catch (error) {
    console.warn("signing key", error);
  }
  if (again && attempt < SIGNING_KEY_RETRIES) setTimeout(() => keepSigningKey(attempt + 1), 1000 * 2 ** attempt);
}

window.addEventListener("online", showConnectivity);
window.addEventListener("offline", showConnectivity);
document.addEventListener("outbox:change", (event) => renderSyncStatus(event.detail));
// Display settings of this phone (我的 → 显示): high contrast for sunlight, large text.
for (const [key, name] of [["jingzhan-sunlight", "sunlight"], ["jingzhan-large-text", "large-text"]]) {
  document.documentElement.classList.toggle(name, localStorage.getItem(key) === "on");
}
// The bell's badge: how many notifications came since the list was last opened (online, page visible).
async function refreshBell() {
  const bell = document.querySelector("[data-bell]");
  if (!bell || !navigator.onLine || document.visibilityState !== "visible") return;
  try {
    const response = await fetch("/notifications/count", { credentials: "same-origin", redirect: "manual" });
    if (!response.ok) return;
    const { unread } = await response.json();
    const badge = bell.querySelector("[data-bell-count]");
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.hidden = !unread;
    bell.setAttribute("aria-label", unread ? _("通知，%(count)s 条未读", { count: unread }) : _("通知"));
  } catch {
    // offline or the server is away: the badge keeps what it said
  }
}
if (currentUserId()) {
  refreshBell();
  setInterval(refreshBell, BELL_EVERY_MS);
  document.addEventListener("visibilitychange", refreshBell);
  // The list, once shown, is marked read (its own request): the badge follows at once.
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.successful && (event.detail.pathInfo.requestPath || "").startsWith("/notifications/seen")) refreshBell();
  });
}

// The browser offers installation once per page load, maybe before the 我的 page's install.js runs: keep the offer.
window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault();
  window.jingzhanInstall = event;
  document.dispatchEvent(new Event("install:ready"));
});
window.addEventListener("online", () => warmOfflineCopy());
window.addEventListener("online", refreshCsrfCookie);
showConnectivity();
reportFailedActions();
stampCsrf();
guardLogout();
holdLeavingWhileSaving();
refreshCsrfCookie();
if (currentUserId()) {
  startOutbox();
  keepSigningKey().catch((error) => console.warn("signing key", error));
  window.addEventListener("online", () => keepSigningKey().catch((error) => console.warn("signing key", error)));
}
registerServiceWorker().catch((error) => console.warn("service worker", error));
export { warmOfflineCopy };
