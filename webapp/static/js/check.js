// check.js — the 望闻听摸测 equipment check on the phone: one screen per sense, big 正常/异常 buttons,
// a note and photos for anything abnormal, numbers for 测; saved into the outbox (works offline).
// Built from the cached check templates and the station's well directory. The proof of being at the well is the
// visit the well page remembered (evidence.js): the address of this page carries no label token.
import { _ } from "./i18n.js";
import { locate, placeEvidence, visitEvidence } from "./evidence.js";
import { recordState, saveRecord } from "./outbox.js";
import { photoPicker } from "./photo.js";

// [sense, its character, the step's name: the character and its everyday verb]
const SENSES = [
  ["wang", _("望"), _("望（看）")],
  ["wen", _("闻"), _("闻（闻）")],
  ["ting", _("听"), _("听（听）")],
  ["mo", _("摸"), _("摸（摸）")],
  ["ce", _("测"), _("测（测量）")],
];
const root = document.querySelector("[data-check-wizard]");
const params = new URLSearchParams(location.search);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", redirect: "manual" });
  if (!response.ok) throw new Error(`${url} ${response.status}`);
  return response.json();
}

function findEquipment(directory, id) {
  for (const well of directory.wells) {
    const item = well.equipment.find((e) => e.id === id);
    if (item) return { equipment: item, well };
  }
  const item = (directory.station_equipment || []).find((e) => e.id === id);
  return item ? { equipment: item, well: null } : null;
}

/** True for a 测 item's value outside its normal range: abnormal by the server's rule, whatever is tapped. */
function outsideNormal(item, value) {
  return item.sense === "ce" && value !== undefined && (value < item.normal_min || value > item.normal_max);
}

function checkItem(item, answers) {
  const answer = answers[item.code] || (answers[item.code] = { ok: null, note: "", photos: [] });
  const box = el("fieldset", { class: "check-item", "data-item": item.code });
  box.append(el("legend", { text: item.label }));
  if (item.hint) box.append(el("p", { class: "muted", text: item.hint }));
  const error = el("p", { class: "field-error", id: `err-${item.code}`, hidden: "" });
  const details = el("div", { class: "abnormal-details", hidden: "" });
  const note = el("textarea", { rows: "2", maxlength: "200", id: `note-${item.code}`, "aria-describedby": `err-${item.code}` });
  note.value = answer.note;
  note.addEventListener("input", () => (answer.note = note.value.trim()));
  const previews = el("div", { class: "photo-previews" });
  const file = el("input", { type: "file", accept: "image/*", capture: "environment", class: "visually-hidden", "data-photo": item.code });
  photoPicker(file, previews, (uuids) => (answer.photos = uuids));
  details.append(
    el("label", { for: `note-${item.code}`, text: _("异常情况") }),
    note,
    el("label", { class: "button file-button" }, _("📷 拍照"), file),
    previews
  );
  const buttons = el("div", { class: "ok-buttons" });
  const okButton = el("button", { type: "button", class: "button big", "aria-pressed": "false", text: _("正常") });
  const badButton = el("button", { type: "button", class: "button big danger", "aria-pressed": "false", text: _("⚠ 异常") });
  const show = () => {
    okButton.setAttribute("aria-pressed", String(answer.ok === true));
    badButton.setAttribute("aria-pressed", String(answer.ok === false));
    details.hidden = answer.ok !== false;
  };
  // The server's rule (webapp/checks.py clean_results): a measured value outside its normal range is abnormal,
  // whatever is tapped — so 正常 cannot be chosen for it, and the worker is told why.
  okButton.addEventListener("click", () => {
    answer.ok = !outsideNormal(item, answer.value);
    error.hidden = answer.ok;
    if (!answer.ok) {
      error.textContent = _("%(value)s 超出正常范围 %(low)s–%(high)s，按异常记录：请写明情况或拍照。", {
        value: answer.value, low: item.normal_min, high: item.normal_max,
      });
    }
    show();
  });
  badButton.addEventListener("click", () => ((answer.ok = false), show()));
  if (item.sense === "ce") {
    const input = el("input", {
      type: "number", inputmode: "decimal", step: "any", id: `value-${item.code}`,
      min: String(item.limit_min), max: String(item.limit_max), "aria-describedby": `err-${item.code} range-${item.code}`,
    });
    if (answer.value !== undefined) input.value = answer.value;
    input.addEventListener("input", () => {
      answer.value = input.value === "" ? undefined : Number(input.value);
      answer.ok = answer.value === undefined ? null : !outsideNormal(item, answer.value);
      show();
    });
    box.append(
      el("label", { for: `value-${item.code}`, text: _("%(label)s（%(unit)s）", { label: item.label, unit: item.unit }) }),
      input,
      el("p", { class: "muted", id: `range-${item.code}`, text: _("正常范围 %(low)s–%(high)s %(unit)s", { low: item.normal_min, high: item.normal_max, unit: item.unit }) })
    );
  }
  buttons.append(okButton, badButton);
  box.append(buttons);
  box.append(details, error);
  show();
  return box;
}

function validate(items, answers) {
  let first = null;
  for (const item of items) {
    const answer = answers[item.code];
    let message = "";
    if (item.sense === "ce" && (answer.value === undefined || Number.isNaN(answer.value))) message = _("请填写%(label)s。", { label: item.label });
    else if (item.sense === "ce" && (answer.value < item.limit_min || answer.value > item.limit_max))
      message = _("%(label)s应在 %(low)s–%(high)s 之间。", { label: item.label, low: item.limit_min, high: item.limit_max });
    else if (answer.ok === null) message = _("请选择正常或异常。");
    else if (answer.ok === false && !answer.note && !answer.photos.length) message = _("异常：请写明情况或拍照。");
    const error = root.querySelector(`#err-${item.code}`);
    error.textContent = message;
    error.hidden = !message;
    if (message && !first) first = root.querySelector(`[data-item="${item.code}"]`);
  }
  if (first) first.scrollIntoView({ block: "center" });
  return !first;
}

function summary(record, template, answers, equipment, well, proof) {
  const abnormal = template.items.filter((i) => answers[i.code].ok === false);
  const box = el("section", { class: "card", "data-check-saved": "" });
  const status = el("p", { class: "saved", role: "status", "data-saved": "" });
  const refresh = async () => {
    const state = await recordState(record.uuid);
    const text = { pending: _("已保存在手机上，待同步"), rejected: _("被服务器拒收，请到“记录”查看原因") }[state] || _("已同步到服务器");
    status.textContent = _("✔ %(name)s 检查%(state)s。", { name: equipment.name, state: text });
  };
  refresh();
  document.addEventListener("outbox:change", refresh);
  box.append(el("h2", { text: abnormal.length ? _("发现 %(count)s 项异常", { count: abnormal.length }) : _("全部正常") }), status);
  for (const item of abnormal) {
    const answer = answers[item.code];
    const raise = el("button", { type: "button", class: "button primary", text: _("上报隐患：%(item)s", { item: item.label }) });
    raise.addEventListener("click", async () => {
      raise.disabled = true;
      const note = answer.note ? `：${answer.note}` : answer.value !== undefined ? `：${answer.value} ${item.unit}` : "";
      await saveRecord(
        "hazard",
        {
          well_id: well ? well.id : null,
          equipment_id: equipment.id,
          description: _("%(equipment)s %(item)s异常%(note)s", { equipment: equipment.name, item: item.label, note }).slice(0, 500),
          severity: "general",
          photos: answer.photos,
          source_check_uuid: record.uuid,
          source_item: item.code,
          ...proof, // the visit of the check, with the position of now when the phone has one
          ...placeEvidence(),
        },
        { well_code: well ? well.code : "", what: _("隐患") }
      );
      raise.replaceWith(el("p", { class: "saved", text: _("✔ 已上报隐患：%(item)s", { item: item.label }) }));
    });
    box.append(raise);
  }
  box.append(el("p", {}, el("a", { class: "button", href: well ? `/wells/${well.id}` : "/wells/", text: _("返回") })));
  return box;
}

async function start() {
  let templates;
  let directory;
  try {
    [templates, directory] = await Promise.all([getJson("/api/v1/check-templates"), getJson("/api/v1/wells")]);
  } catch {
    root.replaceChildren(el("p", { class: "form-error", text: _("没有离线的检查模板：请联网打开一次井站通后再试。") }));
    return;
  }
  const found = findEquipment(directory, Number(params.get("equipment")));
  if (!found) {
    root.replaceChildren(el("p", { class: "form-error", text: _("本站设备目录中没有这台设备。") }));
    return;
  }
  const { equipment, well } = found;
  const template = templates.templates.find((t) => t.kind === equipment.kind);
  if (!template) {
    root.replaceChildren(el("p", { class: "form-error", text: _("还没有%(name)s的检查模板，请联系作业区管理员。", { name: equipment.name }) }));
    return;
  }
  // Station equipment (at no well) has no label of its own: checked as typed, with the position.
  const evidence = () => (well ? visitEvidence(well.id) : { method: "manual", ...placeEvidence() });
  const steps = SENSES.map(([sense, char, name]) => ({ sense, char, name, items: template.items.filter((i) => i.sense === sense) })).filter(
    (s) => s.items.length
  );
  const answers = {};
  let index = 0;
  // Equipment at a well is named after it ("海1-02 抽油机"): the well code is not said twice.
  const prefix = well && !equipment.name.startsWith(well.code) ? `${well.code} · ` : "";
  document.querySelector("[data-check-title]").textContent = _("%(prefix)s%(name)s 检查", { prefix, name: equipment.name });
  const procedure = document.querySelector("[data-procedure-link]");
  procedure.href = `/procedures/equipment:${equipment.kind}`;
  procedure.hidden = false;

  const render = () => {
    const step = steps[index];
    const progress = el(
      "ol",
      { class: "steps", "aria-label": _("检查步骤") },
      ...steps.map((s, i) => el("li", { class: i === index ? "current" : i < index ? "done" : "", "aria-current": i === index ? "step" : "false", text: s.char }))
    );
    const heading = el("h2", { text: _("第 %(step)s/%(total)s 步 · %(sense)s", { step: index + 1, total: steps.length, sense: step.name }) });
    const items = step.items.map((item) => checkItem(item, answers));
    const back = el("button", { type: "button", class: "button big", text: _("上一步") });
    back.disabled = index === 0;
    back.addEventListener("click", () => {
      index -= 1;
      render();
    });
    const last = index === steps.length - 1;
    const next = el("button", { type: "button", class: "button big primary", text: last ? _("保存检查") : _("下一步") });
    const formError = el("p", { class: "form-error", role: "alert", hidden: "" });
    next.addEventListener("click", async () => {
      if (!validate(step.items, answers)) return;
      if (!last) {
        index += 1;
        render();
        window.scrollTo(0, 0);
        return;
      }
      next.disabled = true;
      const proof = evidence();
      const items = {};
      for (const item of template.items) {
        const { ok, value, note, photos } = answers[item.code];
        items[item.code] = { ok, ...(value !== undefined ? { value } : {}), ...(note ? { note } : {}), ...(photos.length ? { photos } : {}) };
      }
      try {
        const record = await saveRecord(
          "equipment_check",
          {
            equipment_id: equipment.id, ...proof, template_id: template.id, items,
            ...(params.get("corrects") ? { corrects_uuid: params.get("corrects") } : {}),
          },
          { well_code: well ? well.code : "", what: _("%(name)s检查", { name: equipment.name }) }
        );
        root.replaceChildren(summary(record, template, answers, equipment, well, proof));
      } catch (error) {
        formError.textContent = error.message;
        formError.hidden = false;
        next.disabled = false;
      }
    });
    root.replaceChildren(progress, heading, ...items, formError, el("div", { class: "wizard-nav" }, back, next));
  };
  render();
}

if (root) {
  locate();
  start();
}
