// patrol.js — the patrol check-in form on a well page: checks the readings on the phone, adds the visit's proof
// and GPS position (evidence.js), and saves the record into the outbox (never posts a page).
import { _ } from "./i18n.js";
import { beyond, describe } from "./deviation.js";
import { locate, showVisit, visitEvidence } from "./evidence.js";
import { recordState, saveRecord } from "./outbox.js";

const form = document.querySelector("[data-patrol-form]");

function showError(input, message) {
  const error = document.getElementById(`${input.id}-error`);
  input.setAttribute("aria-invalid", message ? "true" : "false");
  if (error) {
    error.textContent = message || "";
    error.hidden = !message;
  }
}

/** The same rules and words as the server (webapp/patrols.py). */
function checkNumber(input) {
  const label = input.dataset.label;
  const raw = input.value.trim();
  if (raw === "") return input.required ? _("请填写%(label)s。", { label }) : "";
  const value = Number(raw);
  if (!Number.isFinite(value) || input.validity.badInput) return _("%(label)s应为数字。", { label });
  const low = Number(input.min);
  const high = Number(input.max);
  if (value < low || value > high) return _("%(label)s应在 %(low)s–%(high)s 之间。", { label, low, high });
  return "";
}

/** The question under a reading past its threshold against the well's recent median (shown while it is typed);
 * true when the reading is past it and the worker has not ticked 确认无误 yet. */
function question(input) {
  const box = form.querySelector(`[data-deviation="${input.name}"]`);
  if (!box) return false;
  const raw = input.value.trim();
  const value = Number(raw);
  const base = input.dataset.base === undefined ? null : Number(input.dataset.base);
  const asked = raw !== "" && !checkNumber(input) && beyond(value, base, input.dataset.kind, Number(input.dataset.threshold));
  const confirm = box.querySelector("[data-confirm]");
  if (!asked) {
    box.hidden = true;
    confirm.checked = false;
    return false;
  }
  box.querySelector("[data-deviation-text]").textContent = _(
    "与近 %(days)s 天中位数 %(base)s 相差 %(change)s，确认无误？",
    { days: form.dataset.baselineDays, base: `${base} ${input.dataset.unit}`.trim(),
      change: describe(value, base, input.dataset.kind, input.dataset.unit) },
  );
  if (box.hidden || box.dataset.value !== raw) confirm.checked = false; // a new value asks again
  box.dataset.value = raw;
  box.hidden = false;
  return !confirm.checked;
}

function readForm() {
  const errors = [];
  const readings = {};
  const confirmed = [];
  let questions = 0;
  for (const input of form.querySelectorAll(".readings input[type=number]")) {
    const message = checkNumber(input);
    showError(input, message);
    if (message) errors.push(input);
    else if (input.value.trim() !== "") readings[input.name] = Number(input.value);
    if (!message && question(input)) {
      errors.push(form.querySelector(`[data-confirm="${input.name}"]`));
      questions += 1;
    }
    else if (!message && !form.querySelector(`[data-deviation="${input.name}"]`)?.hidden) confirmed.push(input.name);
  }
  const abnormal = form.querySelector("input[name=abnormal]:checked").value === "1";
  const note = form.querySelector("#p-note");
  const noteMessage = abnormal && !note.value.trim() ? _("异常时请写明情况。") : "";
  showError(note, noteMessage);
  if (noteMessage) errors.push(note);
  const operations = {};
  for (const box of form.querySelectorAll("[data-op-toggle]:checked")) {
    const values = {};
    for (const input of form.querySelectorAll(`[data-op-fields="${box.value}"] input, [data-op-fields="${box.value}"] select`)) {
      const field = input.name.slice(`op-${box.value}-`.length);
      if (input.type === "number") {
        const message = checkNumber(input);
        showError(input, message);
        if (message) errors.push(input);
        else if (input.value.trim() !== "") values[field] = Number(input.value);
      } else if (input.value.trim() !== "") {
        values[field] = input.value.trim();
      }
    }
    operations[box.value] = values;
  }
  const params = new URLSearchParams(location.search);
  const data = {
    well_id: Number(form.dataset.wellId),
    ...visitEvidence(form.dataset.wellId), // from the page's address, never from the page: the offline copy is shared
    readings,
    abnormal,
    note: note.value.trim(),
    operations,
  };
  if (form.dataset.readingSet) data.reading_set_id = Number(form.dataset.readingSet);
  if (editing) data.edited_from = editing.uuid; // the record withdrawn on the 记录 tab to be made again
  if (confirmed.length) data.confirmed = confirmed; // the worker looked at these and says they are right
  // A correction of a patrol the leader returned: a new record linked to the original.
  if (params.get("corrects")) data.corrects_uuid = params.get("corrects");
  // Saved from 沿用上次读数 without a change: said, so a copied round never looks like a measured one.
  if (copiedFrom && Object.keys(copiedFrom).length && sameReadings(readings, copiedFrom)) data.copied = true;
  return { data, errors, questions };
}

async function showSaved(record) {
  const saved = form.querySelector("[data-saved]");
  const time = record.created_at.slice(11, 16);
  const state = await recordState(record.uuid);
  const text = { pending: _("已保存在手机上，待同步"), rejected: _("被服务器拒收，请到“记录”查看原因") }[state] || _("已同步到服务器");
  saved.textContent = _("✔ %(well)s %(time)s 打卡%(state)s。", { well: form.dataset.wellCode, time, state: text });
  saved.dataset.state = state || "synced";
  saved.hidden = false;
}

async function submit(event) {
  event.preventDefault();
  const { data, errors, questions } = readForm();
  const formError = form.querySelector("[data-form-error]");
  if (errors.length) {
    formError.textContent = questions === errors.length
      ? _("有 %(count)s 个读数与近期相差较大：请核对，无误请勾选“确认无误”。", { count: questions })
      : _("有 %(count)s 处需要修改，请看下面标出原因的项。", { count: errors.length });
    formError.hidden = false;
    errors[0].focus();
    return;
  }
  formError.hidden = true;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const record = await saveRecord("patrol", data, { well_code: form.dataset.wellCode });
    if (editing) {
      sessionStorage.removeItem(EDIT_KEY);
      editing = null;
      history.replaceState(null, "", location.pathname);
      form.querySelector("[data-editing]").hidden = true;
    }
    form.reset();
    toggleOperations();
    for (const box of form.querySelectorAll("[data-deviation]")) box.hidden = true;
    await showSaved(record);
    const follow = () => showSaved(record);
    document.addEventListener("outbox:change", follow);
  } catch (error) {
    formError.textContent = error.message;
    formError.hidden = false;
  } finally {
    button.disabled = false;
  }
}

function toggleOperations() {
  for (const box of form.querySelectorAll("[data-op-toggle]")) {
    const fields = form.querySelector(`[data-op-fields="${box.value}"]`);
    if (fields) fields.hidden = !box.checked;
  }
}

let copiedFrom = null;
// The record withdrawn on the 记录 tab to be corrected (records.js keeps it in sessionStorage): {uuid, data}.
const EDIT_KEY = "jingzhan-edit";
let editing = null;

/** Fill the form from the withdrawn record the worker is correcting (only the one the address names). */
function fillEditing() {
  const wanted = new URLSearchParams(location.search).get("edit");
  let kept = null;
  try {
    kept = JSON.parse(sessionStorage.getItem(EDIT_KEY) || "null");
  } catch {
    kept = null;
  }
  if (!wanted || !kept || kept.uuid !== wanted || !kept.data || Number(kept.data.well_id) !== Number(form.dataset.wellId)) return;
  editing = kept;
  const { readings = {}, abnormal = false, note = "", operations = {} } = kept.data;
  for (const [field, value] of Object.entries(readings)) {
    const input = form.querySelector(`.readings input[name="${field}"]`);
    if (input) input.value = value;
  }
  form.querySelector(`input[name=abnormal][value="${abnormal ? 1 : 0}"]`).checked = true;
  form.querySelector("#p-note").value = note;
  for (const [code, values] of Object.entries(operations)) {
    const box = form.querySelector(`[data-op-toggle][value="${code}"]`);
    if (!box) continue;
    box.checked = true;
    for (const [field, value] of Object.entries(values || {})) {
      const input = form.querySelector(`[name="op-${code}-${field}"]`);
      if (input) input.value = value;
    }
  }
  toggleOperations();
  for (const input of form.querySelectorAll(".readings input[type=number]")) question(input);
  const notice = form.querySelector("[data-editing]");
  notice.hidden = false;
  form.querySelector("[data-editing]").scrollIntoView({ block: "center" });
}

function sameReadings(a, b) {
  const keys = Object.keys(b);
  return keys.length === Object.keys(a).length && keys.every((key) => Number(a[key]) === Number(b[key]));
}

function fillLast() {
  const last = JSON.parse(form.dataset.last || "{}");
  copiedFrom = last;
  for (const [field, value] of Object.entries(last)) {
    const input = form.querySelector(`.readings input[name="${field}"]`);
    if (input) input.value = value;
  }
}

if (form) {
  locate();
  showVisit(form.dataset.wellId);
  form.addEventListener("submit", submit);
  form.addEventListener("change", (event) => {
    if (event.target.matches("[data-op-toggle]")) toggleOperations();
    if (event.target.matches(".readings input[type=number]")) question(event.target);
  });
  // While the reading is typed: the question shows (or goes) as the value changes.
  form.addEventListener("input", (event) => {
    if (event.target.matches(".readings input[type=number]")) question(event.target);
  });
  const fill = form.querySelector("[data-fill-last]");
  if (fill) fill.addEventListener("click", fillLast);
  fillEditing();
}
