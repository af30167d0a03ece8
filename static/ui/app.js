// Super Connector: progressive enhancement only. Every form also works without this file
// (the JSON text areas the editors write into stay usable when JavaScript is off).
"use strict";

const MASK = "********";
const TYPES = ["string", "integer", "number", "boolean", "date", "datetime", "email", "url", "json"];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else if (value !== false && value != null) node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function readJSON(textarea, fallback) {
  try { return JSON.parse(textarea.value || "null") || fallback; } catch { return fallback; }
}

// Hide the raw JSON field the editor replaces; it keeps the value that is posted. Messages
// about the table as a whole (a field name defined twice) go above the editor's rows: the
// raw field's own list of them is hidden with it.
function hideRaw(textarea, root) {
  const wrapper = textarea.closest(".field") || textarea;
  wrapper.hidden = true;
  const messages = JSON.parse(root.dataset.tableErrors || "[]");
  if (messages.length) root.append(el("ul", { class: "errorlist", role: "alert" }, ...messages.map(m => el("li", {}, m))));
}

// --- Schema editor ---------------------------------------------------------------------------
function schemaEditor(root) {
  const textarea = document.getElementById(root.dataset.target);
  let rows = readJSON(textarea, { fields: [] }).fields || [];
  const rowErrors = JSON.parse(root.dataset.rowErrors || "{}");
  hideRaw(textarea, root);
  const body = el("tbody");
  const table = el("table", { class: "stack-on-phone" },
    el("thead", {}, el("tr", {},
      el("th", {}, "Field name"), el("th", {}, "Type"), el("th", {}, "Required"),
      el("th", {}, "Description"), el("th", {}, el("span", { class: "skip" }, "Actions")))),
    body);
  const empty = el("p", { class: "muted small" }, "No fields yet: add one, or infer them from a sample record.");
  const add = el("button", { type: "button", class: "btn small", onclick: () => { rows.push({ name: "", type: "string", required: false, description: "" }); render(rows.length - 1); } }, "+ Add field");
  root.append(el("div", { class: "table-wrap" }, table), empty, el("div", { class: "actions" }, add));

  function save() {
    textarea.value = JSON.stringify({ fields: rows.map(r => { const out = { ...r }; if (out.default === undefined || out.default === null) delete out.default; return out; }) });
    document.dispatchEvent(new CustomEvent("schema-changed", { detail: rows.map(r => r.name) }));
  }
  function move(i, by) {
    const j = i + by;
    if (j < 0 || j >= rows.length) return;
    [rows[i], rows[j]] = [rows[j], rows[i]];
    render(j, by < 0 ? "up" : "down");
  }
  function render(focusRow, focusWhat = "name") {
    body.replaceChildren();
    rows.forEach((row, i) => {
      const n = i + 1;
      const nest = el("div", { class: "nest" });
      const name = el("input", { type: "text", value: row.name, "aria-label": `Field ${n} name`, placeholder: "e.g. identifiers.email", "data-focus": "name",
        oninput: e => { row.name = e.target.value.trim(); showNesting(name, nest, row.name); save(); } });
      showNesting(name, nest, row.name);
      const type = el("select", { "aria-label": `Field ${n} type`, onchange: e => { row.type = e.target.value; save(); } },
        ...TYPES.map(t => el("option", { value: t, selected: t === row.type }, t)));
      const required = el("input", { type: "checkbox", checked: !!row.required, "aria-label": `Field ${n} required`, onchange: e => { row.required = e.target.checked; save(); } });
      const description = el("input", { type: "text", value: row.description || "", "aria-label": `Field ${n} description`, oninput: e => { row.description = e.target.value; save(); } });
      const tools = el("div", { class: "tools" },
        el("button", { type: "button", class: "btn small", "aria-label": `Move field ${n} up`, "data-focus": "up", onclick: () => move(i, -1) }, "↑"),
        el("button", { type: "button", class: "btn small", "aria-label": `Move field ${n} down`, "data-focus": "down", onclick: () => move(i, 1) }, "↓"),
        el("button", { type: "button", class: "btn small danger", "aria-label": `Remove field ${n}`, onclick: () => { rows.splice(i, 1); render(); } }, "✕"));
      const errors = rowErrors[i] ? el("ul", { class: "errorlist" }, ...rowErrors[i].map(m => el("li", {}, m))) : "";
      if (errors) name.setAttribute("aria-invalid", "true");
      body.append(el("tr", {}, el("td", { "data-label": "Field name" }, name, nest, errors), el("td", { "data-label": "Type" }, type),
        el("td", { "data-label": "Required" }, required), el("td", { "data-label": "Description" }, description), el("td", {}, tools)));
    });
    empty.hidden = rows.length > 0;
    save();
    if (focusRow != null && body.rows[focusRow]) body.rows[focusRow].querySelector(`[data-focus=${focusWhat}]`)?.focus();
  }
  // Dotted names are nested keys: indent them and name their parents, updated as you type.
  function showNesting(input, note, fieldName) {
    const parts = (fieldName || "").split(".");
    const depth = Math.min(parts.length - 1, 4);
    input.style.marginLeft = `${depth * 16}px`;
    input.style.width = `calc(100% - ${depth * 16}px)`;
    note.textContent = parts.length > 1 ? "nested in " + parts.slice(0, -1).join(" › ") : "";
  }
  root.setRows = fields => { rows = fields; render(); };
  root.fieldNames = () => rows.map(r => r.name);
  render();
}

// "Infer from a sample": the server proposes fields, the editor shows them for adjusting.
function inferPanel(root) {
  const editor = document.querySelector("[data-schema-editor]");
  const button = root.querySelector("button");
  const output = root.querySelector("[data-infer-result]");
  button.addEventListener("click", async () => {
    const body = new FormData();
    body.append("sample", root.querySelector("textarea").value);
    const response = await fetch(root.dataset.url, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() } });
    const data = await response.json();
    if (!response.ok) { output.className = "errorlist"; output.textContent = data.error; return; }
    output.className = "muted small";
    output.textContent = `Proposed ${data.fields.length} field(s) from ${data.records} record(s): adjust them below.`;
    editor.setRows(data.fields);
  });
}

// --- Headers editor -------------------------------------------------------------------------
function headersEditor(root) {
  const textarea = document.getElementById(root.dataset.target);
  const rows = readJSON(textarea, []).map(h => ({ ...h, stored: h.secret && h.value === MASK }));
  const rowErrors = JSON.parse(root.dataset.rowErrors || "{}");
  hideRaw(textarea, root);
  const body = el("tbody");
  root.append(el("div", { class: "table-wrap" }, el("table", { class: "stack-on-phone" },
    el("thead", {}, el("tr", {}, el("th", {}, "Header"), el("th", {}, "Value"), el("th", {}, "Secret"), el("th", {}, el("span", { class: "skip" }, "Actions")))),
    body)),
    el("div", { class: "actions" }, el("button", { type: "button", class: "btn small", onclick: () => { rows.push({ name: "", value: "", secret: false }); render(rows.length - 1); } }, "+ Add header")));
  function save() { textarea.value = JSON.stringify(rows.map(({ name, value, secret }) => ({ name, value, secret }))); }
  function render(focusRow) {
    body.replaceChildren();
    rows.forEach((row, i) => {
      const n = i + 1;
      const name = el("input", { type: "text", value: row.name, list: "common-headers", "aria-label": `Header ${n} name`, placeholder: "Authorization", oninput: e => { row.name = e.target.value.trim(); save(); } });
      let value;
      if (row.stored) {
        // The stored secret never reaches the browser: keep it, or replace it.
        value = el("div", { class: "row" }, el("span", { class: "masked", "aria-label": `Header ${n} value (hidden)` }, "••••••••"),
          el("button", { type: "button", class: "btn small", "aria-label": `Replace header ${n} value`, onclick: () => { row.stored = false; row.value = ""; render(i); body.rows[i].querySelector("[data-value]").focus(); } }, "Replace"));
      } else {
        value = el("input", { type: row.secret ? "password" : "text", value: row.value, "data-value": true, autocomplete: "off", "aria-label": `Header ${n} value`, oninput: e => { row.value = e.target.value; save(); } });
      }
      const secret = el("input", { type: "checkbox", checked: !!row.secret, disabled: row.stored, "aria-label": `Header ${n} is secret`, onchange: e => { row.secret = e.target.checked; render(); } });
      const remove = el("button", { type: "button", class: "btn small danger", "aria-label": `Remove header ${n}`, onclick: () => { rows.splice(i, 1); render(); } }, "✕");
      const errors = rowErrors[i] ? el("ul", { class: "errorlist" }, ...rowErrors[i].map(m => el("li", {}, m))) : "";
      body.append(el("tr", {}, el("td", { "data-label": "Header" }, name, errors), el("td", { "data-label": "Value" }, value),
        el("td", { "data-label": "Secret" }, secret), el("td", {}, remove)));
    });
    save();
    if (focusRow != null && body.rows[focusRow]) body.rows[focusRow].querySelector("input")?.focus();
  }
  render();
}

// --- Show only the inputs of the chosen option (auth type, pagination type, mapping mode) ---
function toggleGroups(select, scope, attribute) {
  const update = () => {
    scope.querySelectorAll(`[${attribute}]`).forEach(group => {
      group.hidden = !group.getAttribute(attribute).split(" ").includes(select.value);
    });
  };
  select.addEventListener("change", update);
  update();
}

// --- URL placeholders checked against the schema as you type -------------------------------
function urlCheck(input) {
  const note = el("div", { class: "url-check", "aria-live": "polite" });
  input.after(note);
  const always = (input.dataset.allowed || "").split(" ").filter(Boolean);
  const useSchema = input.dataset.urlCheck === "schema";
  let fields = useSchema ? document.querySelector("[data-schema-editor]")?.fieldNames?.() || [] : [];
  const check = () => {
    const used = [...input.value.matchAll(/\{\{\s*([A-Za-z_][\w]*)/g)].map(m => m[1]);
    // The secret variables typed in below count too.
    const secretNames = [...document.querySelectorAll("[data-secret-variables] input[name^=secret_variable_name_]")].map(i => i.value.trim());
    const known = new Set([...always, ...secretNames, ...fields.map(f => f.split(".")[0])]);
    const unknown = used.filter(name => !known.has(name));
    if (!used.length) { note.textContent = ""; return; }
    note.className = "url-check " + (unknown.length ? "bad" : "ok");
    note.textContent = unknown.length
      ? `Not in the schema: ${[...new Set(unknown)].join(", ")}`
      : `Placeholders found in the schema: ${[...new Set(used)].join(", ")}`;
  };
  input.addEventListener("input", check);
  document.querySelector("[data-secret-variables]")?.addEventListener("input", check);
  document.addEventListener("schema-changed", e => { if (useSchema) { fields = e.detail; check(); } });
  check();
}

// --- Pipeline preview (live) ------------------------------------------------------------------
function previewForm(form) {
  const target = document.getElementById(form.dataset.previewTarget);
  const live = form.querySelector("[data-live]");
  let timer = null;
  async function run() {
    const body = new FormData(form);
    body.set("action", "preview");
    target.setAttribute("aria-busy", "true");
    const response = await fetch(form.getAttribute("action") || location.href, { method: "POST", body, headers: { "X-Requested-With": "fetch" } });
    target.innerHTML = await response.text();
    target.removeAttribute("aria-busy");
  }
  form.querySelectorAll("[data-preview]").forEach(button => button.addEventListener("click", e => { e.preventDefault(); run(); }));
  form.addEventListener("input", () => {
    if (!live || !live.checked) return;
    clearTimeout(timer);
    timer = setTimeout(run, 700);
  });
}

// --- Copy buttons -------------------------------------------------------------------------------
function copyButton(button) {
  button.addEventListener("click", async () => {
    const source = document.querySelector(button.dataset.copy);
    await navigator.clipboard?.writeText(source.textContent.trim());
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1200);
  });
}

// --- CSV uploader: drag and drop, preview of the first rows, upload and processing progress ----
function uploader(root) {
  const form = root.querySelector("form");
  const input = form.querySelector("input[type=file]");
  const zone = root.querySelector(".dropzone");
  const preview = root.querySelector("[data-upload-preview]");
  const submit = form.querySelector("button[type=submit]");
  const status = root.querySelector("[data-upload-status]");
  const bar = root.querySelector(".progress > span");
  const label = root.querySelector("[data-progress-label]");

  ["dragenter", "dragover"].forEach(name => zone.addEventListener(name, e => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach(name => zone.addEventListener(name, e => { e.preventDefault(); zone.classList.remove("over"); }));
  zone.addEventListener("drop", e => {
    if (!e.dataTransfer.files.length) return;
    input.files = e.dataTransfer.files;
    input.dispatchEvent(new Event("change"));
  });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    zone.querySelector("[data-file-name]").textContent = `${file.name} (${(file.size / 1024).toFixed(1)} KB)`;
    const head = await file.slice(0, 65536).text();
    const body = new FormData();
    body.append("head", head);
    body.append("complete", file.size <= 65536 ? "1" : "");
    const response = await fetch(root.dataset.previewUrl, { method: "POST", body, headers: { "X-CSRFToken": csrfToken() } });
    preview.innerHTML = await response.text();
  });
  form.addEventListener("submit", e => {
    e.preventDefault();
    if (!input.files.length) { status.textContent = "Choose a CSV file first."; return; }
    submit.disabled = true;
    status.hidden = false;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.getAttribute("action"));
    xhr.setRequestHeader("X-Requested-With", "fetch");
    xhr.upload.addEventListener("progress", ev => {
      if (!ev.lengthComputable) return;
      const pct = Math.round(ev.loaded / ev.total * 100);
      bar.style.width = `${pct / 2}%`;
      label.textContent = `Uploading… ${pct}%`;
    });
    xhr.addEventListener("load", () => {
      const data = JSON.parse(xhr.responseText || "{}");
      if (xhr.status >= 400) { label.textContent = data.error || "The upload failed."; submit.disabled = false; return; }
      poll(data.progress_url, data.page_url);
    });
    xhr.send(new FormData(form));
  });
  async function poll(url, page) {
    const data = await (await fetch(url)).json();
    const pct = data.total_rows ? Math.round(data.processed_rows / data.total_rows * 100) : 0;
    bar.style.width = `${50 + pct / 2}%`;
    label.textContent = data.status === "pending" ? "Waiting for a worker…" : `Processing… ${data.processed_rows} of ${data.total_rows} rows`;
    if (data.status === "done" || data.status === "failed") { location.href = page; return; }
    setTimeout(() => poll(url, page), 700);
  }
}

// --- Pages that follow work in flight (a run, a delivery) ------------------------------------
// The region is fetched again every few seconds and swapped in place; the server leaves out
// `data-poll-every` once the work is settled, and polling stops there.
function follow(region) {
  setTimeout(async () => {
    let fresh = null;
    try {
      const response = await fetch(location.href, { headers: { "X-Requested-With": "fetch" } });
      // Signed out meanwhile (a redirect to the login page) or an error: stop, keep what is shown.
      if (!response.ok || response.redirected) return;
      const holder = document.createElement("template");
      holder.innerHTML = (await response.text()).trim();
      fresh = holder.content.getElementById(region.id);
    } catch {
      fresh = region; // offline for a moment: try again
    }
    if (!fresh) return;
    if (fresh !== region) { region.replaceWith(fresh); enhance(fresh); }
    if (fresh.dataset.pollEvery) follow(fresh);
  }, Number(region.dataset.pollEvery) || 2000);
}

function enhance(root) {
  root.querySelectorAll("[data-copy]").forEach(copyButton);
  root.querySelectorAll("[data-confirm]").forEach(form => form.addEventListener("submit", e => { if (!confirm(form.dataset.confirm)) e.preventDefault(); }));
}

// A checkbox saying that a text field holds a secret (a username that is an API key): the
// field is masked while it is checked, as a password field is.
function masksField(checkbox) {
  const input = document.getElementById(checkbox.dataset.masks);
  if (!input) return;
  const update = () => { input.type = checkbox.checked ? "password" : "text"; };
  checkbox.addEventListener("change", update);
  update();
}

// A search box that hides the items of a list not matching every word typed.
function filterList(input) {
  const list = document.querySelector(input.dataset.filter);
  const empty = document.querySelector(`[data-filter-empty="${input.dataset.filter}"]`);
  input.addEventListener("input", () => {
    const words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    list.querySelectorAll("[data-filter-text]").forEach(item => {
      const text = item.dataset.filterText.toLowerCase();
      item.hidden = !words.every(word => text.includes(word));
      if (!item.hidden) shown += 1;
    });
    if (empty) empty.hidden = shown > 0;
  });
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-filter]").forEach(filterList);
  document.querySelectorAll("[data-schema-editor]").forEach(schemaEditor);
  document.querySelectorAll("[data-infer]").forEach(inferPanel);
  document.querySelectorAll("[data-headers-editor]").forEach(headersEditor);
  document.querySelectorAll("[data-toggle]").forEach(select => toggleGroups(select, document.getElementById(select.dataset.toggle), select.dataset.attribute));
  document.querySelectorAll("[data-mode]").forEach(select => toggleGroups(select, select.closest("tr"), "data-for-mode"));
  document.querySelectorAll("[data-url-check]").forEach(urlCheck);
  document.querySelectorAll("[data-masks]").forEach(masksField);
  document.querySelectorAll("[data-preview-form]").forEach(previewForm);
  document.querySelectorAll("[data-uploader]").forEach(uploader);
  document.querySelectorAll("[data-poll-every]").forEach(follow);
  enhance(document);
});
