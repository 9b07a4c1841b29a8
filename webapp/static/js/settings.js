// settings.js — 我的 → 显示与提示: this phone's own settings, kept in localStorage (app.js applies them on every page).
const SETTINGS = {
  sunlight: { key: "jingzhan-sunlight", on: "on", className: "sunlight" },
  "large-text": { key: "jingzhan-large-text", on: "on", className: "large-text" },
  sound: { key: "jingzhan-sound", on: "on", off: "off" }, // on unless switched off
};

for (const input of document.querySelectorAll("[data-setting]")) {
  const setting = SETTINGS[input.dataset.setting];
  if (!setting) continue;
  const stored = localStorage.getItem(setting.key);
  input.checked = setting.off ? stored !== setting.off : stored === setting.on;
  input.addEventListener("change", () => {
    localStorage.setItem(setting.key, input.checked ? setting.on : setting.off || "off");
    if (setting.className) document.documentElement.classList.toggle(setting.className, input.checked);
  });
}
