// records.js — the 记录 tab's list of records still on this phone: pending ones and those the server refused.
import { allRecords, currentUserId, dismissRejected } from "./outbox.js";

const section = document.querySelector("[data-outbox-list]");
const list = document.querySelector("[data-outbox-items]");

function item(record) {
  const li = document.createElement("li");
  li.className = "record";
  li.dataset.uuid = record.uuid;
  const title = document.createElement("strong");
  title.textContent = (record.meta && record.meta.well_code) || "记录";
  const time = document.createElement("span");
  time.textContent = record.created_at.slice(5, 16).replace("T", " ");
  const state = document.createElement("span");
  state.className = `tag ${record.state}`;
  state.textContent = record.state === "rejected" ? "被退回" : "待同步";
  li.append(title, time, state);
  if (record.state === "rejected") {
    const reason = document.createElement("p");
    reason.className = "field-error";
    reason.textContent = `原因：${record.error ? record.error.message : "未知"}`;
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "button";
    dismiss.textContent = "知道了，删除这条";
    dismiss.addEventListener("click", () => dismissRejected(record.uuid));
    li.append(reason, dismiss);
  }
  return li;
}

async function render() {
  const me = currentUserId();
  const records = (await allRecords()).filter((r) => r.user_id === me).reverse();
  list.replaceChildren(...records.map(item));
  section.hidden = records.length === 0;
  const note = section.querySelector("[data-persist-note]");
  note.hidden = localStorage.getItem("jingzhan-persisted") !== "no";
}

if (section) {
  render();
  document.addEventListener("outbox:change", render);
}
