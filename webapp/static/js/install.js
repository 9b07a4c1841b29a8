// install.js — 我的 page: offer to install the app (Android / desktop Chromium: the browser's prompt, kept by app.js;
// iPhone Safari: how to "添加到主屏幕"). Nothing is shown once the app runs from the home screen.
const box = document.querySelector("[data-install]");
const standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;

function show(part) {
  box.hidden = false;
  for (const el of box.querySelectorAll("[data-install-android], [data-install-ios], [data-install-done]")) el.hidden = true;
  box.querySelector(part).hidden = false;
}

function offer() {
  if (!window.jingzhanInstall) return;
  show("[data-install-android]");
}

if (box && !standalone) {
  if (/iphone|ipad|ipod/i.test(navigator.userAgent) && !window.jingzhanInstall) show("[data-install-ios]");
  offer();
  document.addEventListener("install:ready", offer);
  box.querySelector("[data-install-button]").addEventListener("click", async () => {
    const prompt = window.jingzhanInstall;
    if (!prompt) return;
    window.jingzhanInstall = null;
    await prompt.prompt();
    const { outcome } = await prompt.userChoice;
    if (outcome === "accepted") show("[data-install-done]");
    else box.hidden = true;
  });
  window.addEventListener("appinstalled", () => show("[data-install-done]"));
}
