// push.js — 通知 page: let this phone receive the bell's items as Web Push notifications (when the server has
// VAPID keys). The subscription is the browser's; the server keeps where to send and for whom.
import { _ } from "./i18n.js";

const box = document.getElementById("push");

function keyBytes(base64url) {
  const text = atob(base64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(base64url.length / 4) * 4, "="));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

async function send(method, body) {
  const response = await fetch("/api/v1/push/subscription", {
    method, credentials: "same-origin", redirect: "manual",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (!response.ok && response.status !== 204) {
    const answer = await response.json().catch(() => ({}));
    throw new Error((answer.error && answer.error.message) || _("订阅没有成功，请稍后再试。"));
  }
}

function show(on, error = "") {
  box.querySelector("[data-push-on]").hidden = !on;
  box.querySelector("[data-push-off]").hidden = on;
  const message = box.querySelector("[data-push-error]");
  message.textContent = error;
  message.hidden = !error;
}

if (box && "serviceWorker" in navigator && "PushManager" in window && "Notification" in window) {
  const registration = await navigator.serviceWorker.ready;
  box.hidden = false;
  show(Boolean(await registration.pushManager.getSubscription()));
  box.querySelector("[data-push-subscribe]").addEventListener("click", async () => {
    try {
      if ((await Notification.requestPermission()) !== "granted") {
        show(false, _("没有得到通知权限：请在浏览器的网站设置里允许井站通发通知。"));
        return;
      }
      const subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(box.dataset.pushKey),
      });
      await send("POST", subscription.toJSON());
      show(true);
    } catch (error) {
      show(false, error.message || String(error));
    }
  });
  box.querySelector("[data-push-unsubscribe]").addEventListener("click", async () => {
    const subscription = await registration.pushManager.getSubscription();
    if (subscription) {
      await send("DELETE", { endpoint: subscription.endpoint }).catch(() => {});
      await subscription.unsubscribe();
    }
    show(false);
  });
}
