// records.js — the 记录 tab's list of records still on this phone: waiting ones, those the server refused (with
// the reason, to resend or to discard after seeing what is lost) and those being discarded; and the export button.
import { _ } from "./i18n.js";
import { allRecords, currentUserId, discardRejected, exportPending, resendRejected, withdrawPending } from "./outbox.js";

const section = document.querySelector("[data-outbox-list]");
const list = document.querySelector("[data-outbox-items]");
// The record whose "放弃" (refused) or "撤回" (not sent yet) the worker is confirming: kept across re-renders (every
// sync re-renders).
let confirming = null;
let shown = null;
let renders = 0;

const STATES = { pending: () => _("待同步"), rejected: () => _("被拒收"), discarding: () => _("放弃中") };
// Where a record not sent yet can be edited: its well's page, with the form filled from the record (patrol.js).
const EDITABLE = { patrol: (record) => `/wells/${Number(record.data.well_id)}?edit=${encodeURIComponent(record.uuid)}` };
const EDIT_KEY = "jingzhan-edit"; // read by patrol.js

function title(record) {
  const meta = record.meta || {};
  const what = meta.what || _("巡检打卡");
  return `${meta.well_code || ""} ${what}`.trim();
}

const when = (record) => record.created_at.slice(5, 16).replace("T", " ");
const reasonOf = (record) => _("原因：%(reason)s", { reason: record.error && record.error.message ? record.error.message : _("未知") });

function button(text, onClick, extraClass = "") {
  const el = document.createElement("button");
  el.type = "button";
  el.className = `button ${extraClass}`.trim();
  el.textContent = text;
  el.addEventListener("click", onClick);
  return el;
}

/** The confirmation step: what will be lost, then "确认放弃" / "确认撤回" (and, to edit, the form) or "取消". */
function confirmation(record, { edit = false } = {}) {
  const withdrawing = record.state === "pending";
  const box = document.createElement("div");
  box.className = "note confirm";
  box.setAttribute("role", "group");
  box.tabIndex = -1;
  const warning = document.createElement("p");
  warning.id = `discard-${record.uuid}`;
  warning.textContent = edit
    ? _("修改会撤回这条（站长会看到撤回过），再打开这口井的打卡表、填好原来的内容，改好后重新保存：")
    : withdrawing
      ? _("撤回后这条记录不再发送，也不计入；站长会看到您撤回了它：")
      : _("放弃后这条记录不再发送，也不计入；站长会看到您放弃了它和被拒收的原因：");
  box.setAttribute("aria-labelledby", warning.id);
  const lost = document.createElement("p");
  const what = document.createElement("strong");
  what.textContent = `${title(record)} ${when(record)}`;
  lost.append(what);
  if (!withdrawing) {
    const reason = document.createElement("span");
    reason.textContent = ` ${reasonOf(record)}`;
    lost.append(reason);
  }
  const label = edit ? _("撤回并修改") : withdrawing ? _("确认撤回") : _("确认放弃");
  const confirm = button(label, async () => {
    try {
      if (withdrawing) {
        if (edit) sessionStorage.setItem(EDIT_KEY, JSON.stringify({ uuid: record.uuid, data: record.data }));
        if (!(await withdrawPending(record.uuid))) throw new Error(_("这条记录已经发送，不能再撤回；可在下面的已同步记录里申请更正。"));
        if (edit) {
          location.assign(EDITABLE[record.type](record));
          return;
        }
      } else {
        await discardRejected(record.uuid);
      }
    } catch (error) {
      const failed = document.createElement("p");
      failed.className = "field-error";
      failed.setAttribute("role", "alert");
      failed.textContent = error.message;
      box.append(failed);
      return;
    }
    confirming = null;
    render();
  }, "primary");
  const cancel = button(_("取消"), () => {
    confirming = null;
    render();
  });
  const row = document.createElement("div");
  row.className = "button-row";
  row.append(confirm, cancel);
  box.append(warning, lost, row);
  return box;
}

function ask(record, edit = false) {
  confirming = { uuid: record.uuid, edit };
  render().then(() => {
    const box = list.querySelector(`[data-uuid="${record.uuid}"] .confirm`);
    if (box) box.focus();
  });
}

function item(record) {
  const li = document.createElement("li");
  li.className = "record";
  li.dataset.uuid = record.uuid;
  li.dataset.state = record.state;
  const name = document.createElement("strong");
  name.textContent = title(record);
  const time = document.createElement("span");
  time.textContent = when(record);
  const state = document.createElement("span");
  state.className = `tag ${record.state}`;
  state.textContent = (STATES[record.state] || STATES.pending)();
  li.append(name, time, state);
  if (record.chain) {
    const seq = document.createElement("span");
    seq.className = "muted";
    seq.textContent = _("本机第 %(seq)s 条", { seq: record.chain.seq });
    li.append(seq);
  }
  const asked = confirming && confirming.uuid === record.uuid;
  if (record.state === "rejected") {
    const reason = document.createElement("p");
    reason.className = "field-error";
    reason.textContent = reasonOf(record);
    li.append(reason);
    if (asked) {
      li.append(confirmation(record));
    } else {
      li.append(button(_("重新发送"), () => resendRejected(record.uuid)));
      // A discard is never discarded in turn: it stays until the server has it (or is exported).
      if (record.type !== "discard") li.append(button(_("放弃这条…"), () => ask(record)));
    }
  } else if (record.state === "pending" && record.type !== "discard") {
    // Not sent yet: the worker may take it back, or take it back and make it again with the mistake corrected.
    if (asked) {
      li.append(confirmation(record, { edit: confirming.edit }));
    } else {
      if (EDITABLE[record.type] && record.data && record.data.well_id) li.append(button(_("修改…"), () => ask(record, true)));
      li.append(button(_("撤回…"), () => ask(record)));
    }
  }
  return li;
}

async function render() {
  const me = currentUserId();
  const current = ++renders;
  const all = await allRecords();
  if (current !== renders) return; // a later render has newer records
  const records = all.filter((r) => r.user_id === me).reverse();
  if (confirming && !records.some((r) => r.uuid === confirming.uuid && ["rejected", "pending"].includes(r.state))) {
    confirming = null;
  }
  // Re-render only on a change: the sync status fires often, and a rebuilt list loses the worker's focus.
  const persisted = localStorage.getItem("jingzhan-persisted");
  const key = JSON.stringify([confirming && [confirming.uuid, confirming.edit], all.length, persisted, records.map((r) => [r.uuid, r.state, r.error && r.error.message])]);
  if (key === shown) return;
  shown = key;
  list.replaceChildren(...records.map(item));
  // Every record in the outbox is one the server does not have: all of them go into the exported file.
  section.hidden = all.length === 0;
  const others = all.length - records.length;
  const othersNote = section.querySelector("[data-outbox-others]");
  if (othersNote) {
    othersNote.hidden = others === 0;
    othersNote.textContent = _("本机还有其他同事的 %(count)s 条记录，需本人登录后同步，也可一并导出。", { count: others });
  }
  section.querySelector("[data-export]").hidden = all.length === 0;
  // Only when something could be lost: records on the phone that the browser might clear to free space.
  const note = section.querySelector("[data-persist-note]");
  note.hidden = all.length === 0 || persisted !== "no";
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
