// records.js — the 记录 tab's list of records still on this phone: pending ones and those the server refused.
import { _ } from "./i18n.js";
import { allRecords, currentUserId, dismissRejected, exportPending } from "./outbox.js";

const section = document.querySelector("[data-outbox-list]");
const list = document.querySelector("[data-outbox-items]");

function item(record) {
  const li = document.createElement("li");
  li.className = "record";
  li.dataset.uuid = record.uuid;
  const title = document.createElement("strong");
  const meta = record.meta || {};
  const what = meta.what || _("巡检打卡");
  title.textContent = `${meta.well_code || ""} ${what}`.trim();
  const time = document.createElement("span");
  time.textContent = record.created_at.slice(5, 16).replace("T", " ");
  const state = document.createElement("span");
  state.className = `tag ${record.state}`;
  state.textContent = record.state === "rejected" ? _("被退回") : _("待同步");
  li.append(title, time, state);
  if (record.state === "rejected") {
    const reason = document.createElement("p");
    reason.className = "field-error";
    reason.textContent = _("原因：%(reason)s", { reason: record.error ? record.error.message : _("未知") });
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "button";
    dismiss.textContent = _("知道了，删除这条");
    dismiss.addEventListener("click", () => dismissRejected(record.uuid));
    li.append(reason, dismiss);
  }
  return li;
}

async function render() {
  const me = currentUserId();
  const all = await allRecords();
  const records = all.filter((r) => r.user_id === me).reverse();
  list.replaceChildren(...records.map(item));
  section.hidden = records.length === 0 && !all.some((r) => r.state === "pending");
  const pending = all.some((r) => r.state === "pending");
  section.querySelector("[data-export]").hidden = !pending;
  // Only when something could be lost: records on the phone that the browser might clear to free space.
  const note = section.querySelector("[data-persist-note]");
  note.hidden = !pending || localStorage.getItem("jingzhan-persisted") !== "no";
}

async function exportFile() {
  const body = await exportPending();
  const blob = new Blob([JSON.stringify(body, null, 1)], { type: "application/json" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = _("井站通-未同步记录-%(time)s.json", { time: body.exported_at.slice(0, 16).replace(/[:T]/g, "") });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

if (section) {
  section.querySelector("[data-export]").addEventListener("click", exportFile);
  render();
  document.addEventListener("outbox:change", render);
}
