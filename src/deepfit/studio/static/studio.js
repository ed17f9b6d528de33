"use strict";
// deepfit studio: plain JavaScript over the studio's JSON API (no build step, no framework).
const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;
const state = {token: sessionStorage.getItem("deepfit-token") || "", project: null, info: null,
               run: null, epochs: [], watching: null};
const BATCH_BYTES = 8 * 1024 * 1024, BATCH_FILES = 100, PICTURE = /\.(png|jpe?g|gif|bmp|webp)$/i;

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (state.token) h["Authorization"] = "Bearer " + state.token;
  return h;
}
function say(text, kind) { const m = $("message"); m.textContent = text; m.className = kind || ""; }
function element(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}
function button(text, action, quiet) {
  const b = element("button", text, quiet ? "quiet" : "");
  b.type = "button"; b.addEventListener("click", () => act(action));
  return b;
}
function jsonBody(method, body) {
  return {method, body: JSON.stringify(body), headers: {"Content-Type": "application/json"}};
}
async function api(path, options) {
  options = options || {};
  const response = await fetch("api/" + path, Object.assign({}, options, {headers: headers(options.headers)}));
  if (response.status === 401) { $("token-box").hidden = false; throw new Error("This studio needs a token: type it above."); }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : null;
  if (!response.ok) throw new Error(body && body.error ? body.error : `The studio answered ${response.status}.`);
  return body;
}
async function act(work) {
  try { await work(); } catch (error) { say(error.message, "error"); }
}
const projectPath = (rest) => `projects/${enc(state.project)}${rest || ""}`;

// ------------------------------------------------------------------ projects
async function loadProjects() {
  const {projects} = await api("projects"), list = $("projects");
  list.replaceChildren();
  for (const p of projects) {
    const item = element("li");
    item.append(button(`${p.name} (${p.kind})`, () => openProject(p.name), p.name !== state.project));
    list.append(item);
  }
  if (!projects.length) list.append(element("li", "No projects yet: make one below.", "muted"));
}

async function openProject(name) {
  if (state.project !== name) { $("result").hidden = true; $("comparison").replaceChildren(); $("findings").replaceChildren(); }
  state.project = name;
  localStorage.setItem("deepfit-studio-project", name);  // a reloaded or reopened page comes back to it
  const info = await api(projectPath());
  state.info = info;
  $("project").hidden = false;
  $("project-title").textContent = name;
  $("project-about").textContent = `A project of ${info.words.data}` +
    (info.kind === "table" ? "." : `: ${info.suffixes.join(" ")} files, one class each.`);
  $("classes-part").hidden = info.kind === "table";
  $("table-part").hidden = info.kind !== "table";
  if (info.kind === "table") renderTable(info); else renderClasses(info.classes);
  renderRuns(info.runs);
  await loadProjects();
  const live = info.runs.find((r) => ["queued", "starting", "running"].includes(r.status));
  if (live && (!state.watching || state.run !== live.name)) watch(live.name);
}
const refresh = () => openProject(state.project);

$("new-project").addEventListener("submit", (e) => {
  e.preventDefault();
  act(async () => {
    const name = $("project-name").value.trim();
    await api("projects", jsonBody("POST", {name, kind: $("project-kind").value}));
    $("project-name").value = "";
    await openProject(name);
    say(`Project ${name} made. Add its classes and examples.`, "ok");
  });
});
$("delete-project").addEventListener("click", () => act(async () => {
  if (!confirm(`Delete project ${state.project} with its examples and runs?`)) return;
  await api(projectPath(), {method: "DELETE"});
  say(`Project ${state.project} deleted.`, "ok");
  state.project = null; localStorage.removeItem("deepfit-studio-project"); $("project").hidden = true; await loadProjects();
}));

// ------------------------------------------------------------------ classes and examples
function renderClasses(classes) {
  // Cards are updated in place, so an open drawing pad or camera stays open while examples are added.
  const box = $("classes"), kept = new Map([...box.querySelectorAll("section.class")].map((c) => [c.dataset.class, c]));
  for (const [name, card] of kept) if (!classes.some((c) => c.name === name) || card.dataset.project !== state.project) {
    card.querySelectorAll("video").forEach((v) => v.srcObject && v.srcObject.getTracks().forEach((t) => t.stop()));
    card.remove(); kept.delete(name);
  }
  box.querySelectorAll("p.muted").forEach((p) => p.remove());
  for (const c of classes) {
    const card = kept.get(c.name) || classCard(c);
    card.querySelector("h4").textContent = `${c.name}: ${c.count} example${c.count === 1 ? "" : "s"}`;
    showThumbs(card.querySelector(".thumbs"), c);
    box.append(card);  // in the server's order
  }
  if (!classes.length) box.append(element("p", "No classes yet: a classifier needs two or more.", "muted"));
}

function showThumbs(thumbs, c) {
  const wanted = c.files.filter((f) => PICTURE.test(f));
  if (thumbs.dataset.files === wanted.join("/")) return;
  thumbs.dataset.files = wanted.join("/");
  thumbs.replaceChildren();
  for (const file of wanted) {
    const img = element("img"); img.alt = `${c.name} example ${file}`;
    fetchObjectUrl(projectPath(`/files/${enc(c.name)}/${enc(file)}`)).then((url) => { img.src = url; }, () => {});
    thumbs.append(img);
  }
}

function classCard(c) {
  const card = element("section", undefined, "class"), kind = state.info.kind;
  card.dataset.class = c.name; card.dataset.project = state.project;
  card.setAttribute("aria-label", `class ${c.name}`);
  card.append(element("h4"), element("div", undefined, "thumbs"));
  const row = element("div", undefined, "row"), label = element("label", `Add ${state.info.words.files} to ${c.name}`);
  const input = element("input"); input.type = "file"; input.multiple = true;
  input.accept = state.info.suffixes.join(",");
  const chosen = (field, keep) => { const files = keep([...field.files]); field.value = ""; return files; };
  input.addEventListener("change", () => act(() => upload(c.name, chosen(input, (f) => f))));
  label.append(input); row.append(label);
  const folderLabel = element("label", `Add a folder to ${c.name}`), folder = element("input");
  folder.type = "file"; folder.webkitdirectory = true;
  folder.addEventListener("change", () => act(() => upload(c.name, chosen(folder, ofKind))));
  folderLabel.append(folder); row.append(folderLabel);
  if (kind === "image") row.append(button("Draw one", () => openPad(card, c.name), true));
  if (kind === "image" && navigator.mediaDevices) row.append(button("Use the camera", () => openCamera(card, c.name), true));
  if (kind === "audio") row.append(button("Record 3 seconds", () => record(c.name), true));
  if (kind === "text") row.append(textAdder(c.name));
  row.append(button(`Delete class ${c.name}`, () => deleteClass(c.name), true));
  card.append(row);
  card.addEventListener("dragover", (e) => { e.preventDefault(); card.classList.add("over"); });
  card.addEventListener("dragleave", () => card.classList.remove("over"));
  card.addEventListener("drop", (e) => {
    e.preventDefault(); card.classList.remove("over");
    const entries = [...e.dataTransfer.items].map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry()).filter(Boolean);
    act(async () => upload(c.name, entries.some((entry) => entry.isDirectory) ? ofKind(await filesIn(entries)) : e.dataTransfer.files));
  });
  return card;
}

function textAdder(name) {
  const box = element("div", undefined, "row"), label = element("label", `A text of ${name}`);
  const area = element("textarea"); area.rows = 2; area.cols = 30;
  label.append(area); box.append(label);
  box.append(button("Add text", async () => {
    await api(projectPath(`/classes/${enc(name)}/texts`), jsonBody("POST", {texts: [area.value]}));
    say(`Text added to ${name}.`, "ok"); await refresh();
  }, true));
  return box;
}

// The files of the project's kind among those chosen (a folder holds others: notes, thumbnails).
const ofKind = (files) => [...files].filter((f) => state.info.suffixes.some((s) => f.name.toLowerCase().endsWith(s)));

async function filesIn(entries) {
  // Every file under dropped folders, read through the File and Directory Entries API.
  const found = [];
  const walk = async (entry) => {
    if (entry.isFile) { found.push(await new Promise((done, fail) => entry.file(done, fail))); return; }
    const reader = entry.createReader();
    for (;;) {
      const batch = await new Promise((done, fail) => reader.readEntries(done, fail));
      if (!batch.length) break;
      for (const child of batch) await walk(child);
    }
  };
  for (const entry of entries) await walk(entry);
  return found;
}

function* batches(files) {
  let batch = [], size = 0;
  for (const file of files) {
    if (batch.length && (size + file.size > BATCH_BYTES || batch.length >= BATCH_FILES)) { yield batch; batch = []; size = 0; }
    batch.push(file); size += file.size;
  }
  if (batch.length) yield batch;
}

async function upload(name, files) {
  files = Array.from(files || []);
  if (!files.length) return;
  let added = 0;
  try {
    say(`Adding ${files.length} file${files.length === 1 ? "" : "s"} to ${name}...`);
    for (const batch of batches(files)) {
      const form = new FormData();
      for (const file of batch) form.append("files", file, file.name);
      added += (await api(projectPath(`/classes/${enc(name)}/files`), {method: "POST", body: form})).added.length;
    }
    say(`${added} example${added === 1 ? "" : "s"} added to ${name}.`, "ok");
  } finally { await refresh().catch(() => {}); }
}

async function deleteClass(name) {
  await api(projectPath(`/classes/${enc(name)}`), {method: "DELETE"});
  say(`Class ${name} deleted.`, "ok"); await refresh();
}

$("new-class").addEventListener("submit", (e) => {
  e.preventDefault();
  act(async () => {
    const name = $("class-name").value.trim();
    await api(projectPath("/classes"), jsonBody("POST", {name}));
    $("class-name").value = ""; say(`Class ${name} made: add its examples.`, "ok"); await refresh();
  });
});
$("import").addEventListener("submit", (e) => {
  e.preventDefault();
  act(async () => {
    const body = {path: $("import-path").value.trim(), name: $("import-class").value.trim() || null};
    const {added} = await api(projectPath("/import"), jsonBody("POST", body));
    say("Added " + Object.entries(added).map(([c, n]) => `${n} to ${c}`).join(", ") + ".", "ok"); await refresh();
  });
});

function openPad(card, name) {
  if (card.querySelector("canvas")) return;
  const pad = element("canvas", undefined, "pad"), ink = pad.getContext("2d"), side = 160;
  pad.width = pad.height = side; pad.setAttribute("aria-label", `drawing pad for ${name}`);
  const clear = () => { ink.fillStyle = "#fff"; ink.fillRect(0, 0, side, side); };
  clear();
  let last = null;
  const at = (e) => { const r = pad.getBoundingClientRect(); return [(e.clientX - r.left) * side / r.width, (e.clientY - r.top) * side / r.height]; };
  pad.addEventListener("pointerdown", (e) => { last = at(e); pad.setPointerCapture(e.pointerId); });
  pad.addEventListener("pointermove", (e) => {
    if (!last) return;
    const point = at(e);
    ink.strokeStyle = "#000"; ink.lineWidth = 12; ink.lineCap = ink.lineJoin = "round";
    ink.beginPath(); ink.moveTo(...last); ink.lineTo(...point); ink.stroke(); last = point;
  });
  const stop = () => { last = null; };
  pad.addEventListener("pointerup", stop); pad.addEventListener("pointercancel", stop);
  const row = element("div", undefined, "row");
  row.append(button(`Add drawing to ${name}`, () => new Promise((done, fail) => pad.toBlob(
    (blob) => upload(name, [new File([blob], "drawing.png", {type: "image/png"})]).then(done, fail), "image/png"))));
  row.append(button("Clear", clear, true));
  card.append(pad, row);
}

async function openCamera(card, name) {
  if (card.querySelector("video")) return;
  const video = element("video", undefined, "camera");
  video.autoplay = video.muted = video.playsInline = true;
  video.setAttribute("aria-label", `camera for ${name}`);
  video.srcObject = await navigator.mediaDevices.getUserMedia({video: true});
  const stop = () => { video.srcObject.getTracks().forEach((t) => t.stop()); video.remove(); row.remove(); };
  const row = element("div", undefined, "row");
  row.append(button(`Take a picture for ${name}`, () => new Promise((done, fail) => {
    const frame = document.createElement("canvas");
    frame.width = video.videoWidth; frame.height = video.videoHeight;
    frame.getContext("2d").drawImage(video, 0, 0);
    frame.toBlob((blob) => upload(name, [new File([blob], "camera.png", {type: "image/png"})]).then(done, fail), "image/png");
  })), button("Stop the camera", stop, true));
  card.append(video, row);
}

async function record(name) {
  if (!navigator.mediaDevices || !window.AudioContext) throw new Error("This browser cannot record here (it needs https or localhost).");
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  say("Recording 3 seconds...");
  const context = new AudioContext(), source = context.createMediaStreamSource(stream);
  const tap = context.createScriptProcessor(4096, 1, 1), parts = [];
  tap.onaudioprocess = (e) => parts.push(Float32Array.from(e.inputBuffer.getChannelData(0)));
  source.connect(tap); tap.connect(context.destination);
  await new Promise((done) => setTimeout(done, 3000));
  tap.disconnect(); source.disconnect(); stream.getTracks().forEach((t) => t.stop());
  const rate = context.sampleRate; await context.close();
  await upload(name, [new File([pcmWav(parts, rate)], "recording.wav", {type: "audio/wav"})]);
}

function pcmWav(parts, rate) {
  // A mono 16-bit PCM WAV: its 44-byte header, then the samples.
  const count = parts.reduce((n, p) => n + p.length, 0), samples = new Int16Array(count);
  let i = 0;
  for (const part of parts) for (const v of part) samples[i++] = Math.round(Math.max(-1, Math.min(1, v)) * 32767);
  const head = new DataView(new ArrayBuffer(44)), put = (at, s) => [...s].forEach((ch, k) => head.setUint8(at + k, ch.charCodeAt(0)));
  put(0, "RIFF"); head.setUint32(4, 36 + 2 * count, true); put(8, "WAVE"); put(12, "fmt ");
  [[16, 16, 4], [20, 1, 2], [22, 1, 2], [24, rate, 4], [28, 2 * rate, 4], [32, 2, 2], [34, 16, 2]].forEach(
    ([at, v, n]) => (n === 4 ? head.setUint32(at, v, true) : head.setUint16(at, v, true)));
  put(36, "data"); head.setUint32(40, 2 * count, true);
  return new Blob([head, samples.buffer], {type: "audio/wav"});
}

// ------------------------------------------------------------------ a table
function renderTable(info) {
  const select = $("target");
  select.replaceChildren();
  for (const column of info.columns) {
    const option = element("option", column); option.value = column; option.selected = column === info.target;
    select.append(option);
  }
  const box = $("table-preview");
  box.replaceChildren();
  if (!info.columns.length) { box.append(element("p", "No table yet: upload a CSV.", "muted")); return; }
  box.append(element("p", `${info.n_rows} rows; labels: ` +
    Object.entries(info.class_counts || {}).map(([c, n]) => `${c} ${n}`).join(", ")));
  const table = element("table"), head = element("tr");
  info.columns.forEach((c) => head.append(element("th", c)));
  table.append(head);
  for (const row of info.rows) {
    const tr = element("tr"); row.forEach((v) => tr.append(element("td", v === null ? "" : String(v)))); table.append(tr);
  }
  box.append(table);
}
$("table-file").addEventListener("change", () => act(async () => {
  const form = new FormData(); form.append("file", $("table-file").files[0]);
  await api(projectPath("/table"), {method: "POST", body: form});
  say("Table uploaded: choose the column of labels.", "ok"); await refresh();
}));
$("target").addEventListener("change", () => act(async () => {
  await api(projectPath("/target"), jsonBody("PUT", {column: $("target").value}));
  say(`Labels are in ${$("target").value}.`, "ok"); await refresh();
}));

// ------------------------------------------------------------------ check
$("check").addEventListener("click", () => act(async () => {
  const box = $("findings");
  box.replaceChildren(element("p", "Checking...", "muted"));
  const found = await api(projectPath("/check"));
  box.replaceChildren(element("p", `${found.n_examples} examples: ` +
    Object.entries(found.class_counts).map(([c, n]) => `${c} ${n}`).join(", ")));
  for (const finding of found.findings) {
    const item = element("div", undefined, "finding");
    item.append(element("strong", finding.check.replace(/_/g, " ") + ": "), element("span", finding.message));
    const shown = element("div", undefined, "thumbs");
    for (const name of JSON.stringify(finding.items).match(/[^"\\/]+\/[^"\\/]+\.(png|jpe?g|gif|bmp)/gi) || []) {
      const [c, f] = name.split("/"), img = element("img"); img.alt = name;
      fetchObjectUrl(projectPath(`/files/${enc(c)}/${enc(f)}`)).then((url) => { img.src = url; }, () => {});
      shown.append(img);
    }
    item.append(shown); box.append(item);
  }
  if (found.ok) box.append(element("p", "No problems found.", "ok"));
}));

// ------------------------------------------------------------------ train and watch
$("train").addEventListener("submit", (e) => {
  e.preventDefault();
  act(async () => {
    const settings = {max_epochs: parseInt($("epochs").value, 10), batch_size: parseInt($("batch-size").value, 10),
                      learning_rate: parseFloat($("learning-rate").value)};
    const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v > 0));
    const run = await api(projectPath("/train"), jsonBody("POST", given));
    say(`${run.name} queued.`, "ok"); await refresh(); watch(run.name);
  });
});
$("cancel").addEventListener("click", () => act(async () => {
  await api(projectPath(`/runs/${enc(state.run)}/cancel`), {method: "POST"});
  say(`Cancelling ${state.run}...`);
}));

async function watch(run) {
  if (state.watching) state.watching.abort();
  const controller = new AbortController();
  Object.assign(state, {watching: controller, run, epochs: []});
  drawChart(); $("cancel").disabled = false; $("progress").value = 0; $("progress-box").dataset.status = "queued";
  try {
    const response = await fetch("api/" + projectPath(`/runs/${enc(run)}/events`), {headers: headers(), signal: controller.signal});
    if (!response.ok) throw new Error(`Could not follow ${run} (${response.status}).`);
    const reader = response.body.getReader(), decoder = new TextDecoder();
    let buffer = "", cut;
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        for (const line of chunk.split("\n")) if (line.startsWith("data: ")) onProgress(run, JSON.parse(line.slice(6)));
      }
    }
  } catch (error) { if (error.name !== "AbortError") say(error.message, "error"); return; }
  if (state.watching === controller) { state.watching = null; $("cancel").disabled = true; await refresh().catch(() => {}); }
}

function onProgress(run, message) {
  state.epochs.push(...message.epochs);
  drawChart();
  const last = state.epochs[state.epochs.length - 1], box = $("progress-box");
  box.dataset.status = message.status;
  $("progress").value = message.status === "finished" ? 1 : last ? last.epoch / last.max_epochs : 0;
  let text = `${run}: ${message.status}`;
  if (last) text += `, epoch ${last.epoch} of at most ${last.max_epochs}, loss ${last.train_loss.toFixed(4)}`;
  if (last && last.val_accuracy != null) text += `, validation accuracy ${last.val_accuracy.toFixed(3)}`;
  if (message.status === "running" && message.seconds_left != null) text += `, at most ${duration(message.seconds_left)} left`;
  if (message.status === "finished" && message.metrics.accuracy != null)
    text = `${run} finished: accuracy ${message.metrics.accuracy.toFixed(4)} on the held-out test examples.`;
  $("progress-text").textContent = text;
  if (message.error) say(`${run}: ${message.error}`, "error");
  if (message.status === "finished") { say(`${run} finished.`, "ok"); act(() => showResult(run)); }
}
const duration = (s) => (s < 90 ? `${Math.ceil(s)} s` : `${Math.ceil(s / 60)} min`);

function drawChart() {
  const canvas = $("chart"), ink = canvas.getContext("2d"), rows = state.epochs, w = canvas.width, h = canvas.height;
  canvas.dataset.epochs = rows.length;
  ink.clearRect(0, 0, w, h); ink.font = "12px sans-serif"; ink.fillStyle = "#4a5462";
  if (!rows.length) { ink.fillText("The loss and accuracy of each epoch appear here as it trains.", 12, h / 2); return; }
  const pad = 34, right = w - pad, bottom = h - 24, n = Math.max(2, rows[rows.length - 1].step_index);
  const losses = rows.flatMap((r) => [r.train_loss, r.val_loss]).filter((v) => v != null);
  const top = Math.max(...losses) * 1.05 || 1, x = (i) => pad + (right - pad) * (i - 1) / (n - 1);
  const line = (key, scale, colour) => {
    ink.strokeStyle = colour; ink.lineWidth = 2; ink.beginPath();
    rows.filter((r) => r[key] != null).forEach((r, k) => (k ? ink.lineTo : ink.moveTo).call(ink, x(r.step_index), bottom - (bottom - 10) * r[key] / scale));
    ink.stroke();
  };
  ink.strokeStyle = "#ccc"; ink.strokeRect(pad, 10, right - pad, bottom - 10);
  line("train_loss", top, "#2f5fb3"); line("val_loss", top, "#e07b00"); line("val_accuracy", 1, "#1a8f4a");
  ink.fillStyle = "#4a5462";
  ink.fillText(`loss (0-${top.toFixed(2)}): training blue, validation orange; validation accuracy (0-1) green; epoch 1-${n}`, pad, h - 6);
}

// ------------------------------------------------------------------ runs
function renderRuns(runs) {
  const body = $("runs").querySelector("tbody");
  body.replaceChildren();
  for (const run of runs) {
    const tr = element("tr"), pick = element("input"), cell = element("td"), actions = element("td");
    tr.dataset.run = run.name; tr.dataset.status = run.status;
    pick.type = "checkbox"; pick.value = run.name; pick.setAttribute("aria-label", `compare ${run.name}`);
    cell.append(pick); tr.append(cell, element("td", run.name), element("td", run.status + (run.error ? `: ${run.error}` : "")),
      element("td", run.metrics.accuracy != null ? run.metrics.accuracy.toFixed(4) : "-"),
      element("td", run.seconds != null ? run.seconds.toFixed(1) : "-"));
    const row = element("div", undefined, "row");
    if (["queued", "starting", "running"].includes(run.status)) row.append(button(`Watch ${run.name}`, () => watch(run.name), true));
    if (run.has_model) row.append(button(`Show ${run.name}`, () => showResult(run.name), true));
    if (["interrupted", "cancelled"].includes(run.status)) row.append(button(`Resume ${run.name}`, async () => {
      await api(projectPath(`/runs/${enc(run.name)}/resume`), {method: "POST"}); await refresh(); watch(run.name);
    }, true));
    if (!["queued", "starting", "running"].includes(run.status)) row.append(button(`Delete ${run.name}`, async () => {
      await api(projectPath(`/runs/${enc(run.name)}`), {method: "DELETE"});
      if (state.run === run.name) $("result").hidden = true;
      say(`${run.name} deleted.`, "ok"); await refresh();
    }, true));
    actions.append(row); tr.append(actions); body.append(tr);
  }
}

$("compare").addEventListener("click", () => act(async () => {
  const chosen = [...$("runs").querySelectorAll("input:checked")].map((i) => `${state.project}/${i.value}`);
  if (chosen.length < 2) throw new Error("Tick two runs or more to compare them.");
  const found = await api("compare?runs=" + enc(chosen.join(","))), box = $("comparison");
  const img = element("img"); img.src = found.plot; img.alt = "the chosen runs' loss and accuracy per epoch";
  const table = element("table"), head = element("tr");
  ["", ...found.runs].forEach((n) => head.append(element("th", n)));
  table.append(head);
  for (const [group, values] of [["settings that differ", found.settings], ["results", found.metrics]]) {
    const title = element("tr"); title.append(element("th", group)); table.append(title);
    for (const [key, row] of Object.entries(values)) {
      const tr = element("tr"); tr.append(element("td", key));
      row.forEach((v) => tr.append(element("td", v == null ? "-" : typeof v === "number" ? String(+v.toFixed(4)) : String(v))));
      table.append(tr);
    }
  }
  const scroll = element("div", undefined, "scroll"); scroll.append(table);
  box.replaceChildren(img, scroll);
}));

async function fetchObjectUrl(path) {
  const response = await fetch("api/" + path, {headers: headers()});
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

async function showResult(run) {
  state.run = run;
  const base = projectPath(`/runs/${enc(run)}`);
  $("result").hidden = false; $("result-title").textContent = `5. ${run}: try it, read its report`;
  $("onnx").hidden = true;
  const link = $("download");
  link.href = await fetchObjectUrl(`${base}/files/model.deepfit`);
  link.download = `${state.project}-${run}.deepfit`;
  $("try").src = `try/${enc(state.project)}/${enc(run)}/`;
  const report = await fetch("api/" + `${base}/files/report.html`, {headers: headers()});
  $("report").srcdoc = report.ok ? await report.text() : "<p>This run has no report (it kept no test examples).</p>";
}

$("export").addEventListener("click", () => act(async () => {
  say("Exporting to ONNX and checking it against the model...");
  const base = projectPath(`/runs/${enc(state.run)}`);
  const done = await api(`${base}/export`, {method: "POST"});
  const link = $("onnx");
  link.href = await fetchObjectUrl(`${base}/files/model.onnx`); link.download = `${state.project}-${state.run}.onnx`;
  link.hidden = false;
  say(`ONNX export written and checked (largest difference ${done.max_difference.toExponential(1)}).`, "ok");
}));

$("token-go").addEventListener("click", () => {
  state.token = $("token").value; sessionStorage.setItem("deepfit-token", state.token);
  $("token-box").hidden = true; act(loadProjects);
});
drawChart();
act(async () => {
  await loadProjects();
  const last = localStorage.getItem("deepfit-studio-project");
  if (last && [...$("projects").querySelectorAll("button")].some((b) => b.textContent.startsWith(last + " ("))) await openProject(last);
});
