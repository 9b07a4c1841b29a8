// app.js — page-wide wiring: shows a banner while the phone has no network.
const banner = document.createElement("p");
banner.className = "offline-banner";
banner.setAttribute("role", "status");
banner.textContent = "当前无网络";

function showConnectivity() {
  if (navigator.onLine) {
    banner.remove();
  } else if (!banner.isConnected) {
    document.body.prepend(banner);
  }
}

window.addEventListener("online", showConnectivity);
window.addEventListener("offline", showConnectivity);
showConnectivity();
