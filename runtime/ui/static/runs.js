// The runs page: start a workflow, and every run of the log, a page at a time, found by the
// server (GET api/runs?offset=&limit=&q=&status=&since=&until=: docs/ui.md), each with how
// long it ran and who drove it. Back from a run, the list is where it was left.
import { ApiError, api, attempt, onLog } from "./api.js";
import { el, clear, shortId, typed, when } from "./dom.js";

const STATUSES = ["", "LOADED", "QUEUED", "RUNNING", "STEPPING", "PAUSED", "ERROR", "COMPLETED", "FAILED", "STOPPED"];
const COLUMNS = ["Run", "Workflow", "Status", "Events", "Started", "Duration", "Driven by", "Forked from"];
const PAGE = 50; // runs per page
const TYPING = 300; // ms after the last key before a search goes to the server
const CHANGES = ["RunCreated", "RunCompleted", "RunFailed", "RunStopped", "RunPaused", "NodeFailed",
  "RunStarted", "RunResumed", "RunQueued"]; // events that change a row of the list
const kept = { offset: 0, q: "", status: "", since: "", until: "" }; // the list as last shown

export async function showRuns(root) {
  root.append(startForm());
  const status = el("select", { id: "runs-status" },
    ...STATUSES.map((s) => el("option", { value: s }, s || "any")));
  const text = el("input", { id: "runs-filter", type: "search", size: 30,
    placeholder: "run id, workflow, status or error" });
  const since = el("input", { id: "runs-since", type: "date" });
  const until = el("input", { id: "runs-until", type: "date" });
  status.value = kept.status; text.value = kept.q; since.value = kept.since; until.value = kept.until;
  const where = el("p", { role: "status", "aria-live": "polite" });
  const previous = el("button", { type: "button" }, "Previous page");
  const next = el("button", { type: "button" }, "Next page");
  const body = el("tbody");
  root.append(el("section", { "aria-label": "Runs" },
    el("h2", {}, "Runs"),
    el("div", { class: "filters" },
      el("label", { for: "runs-status" }, "Status"), status,
      el("label", { for: "runs-filter" }, "Search"), text,
      el("label", { for: "runs-since" }, "Started from"), since,
      el("label", { for: "runs-until" }, "to"), until),
    el("div", { class: "filters" }, previous, next, where),
    el("table", { class: "runs" },
      el("caption", {}, "Runs, newest first"),
      el("thead", {}, el("tr", {}, ...COLUMNS.map((h) => el("th", { scope: "col" }, h)))),
      body)));

  let asked = 0; // answers to an older request are dropped: the newest one is shown
  const load = async () => {
    const mine = ++asked;
    const query = new URLSearchParams({ offset: kept.offset, limit: PAGE });
    for (const name of ["q", "status", "since", "until"]) if (kept[name]) query.set(name, kept[name]);
    const page = await attempt(() => api(`api/runs?${query}`));
    if (mine !== asked || !page) return;
    if (!page.runs.length && kept.offset && page.total) { // fewer runs now: the last page
      kept.offset = Math.floor((page.total - 1) / PAGE) * PAGE;
      return load();
    }
    draw(page);
  };
  const draw = (page) => {
    clear(body);
    for (const r of page.runs) body.append(row(r));
    const filtered = kept.q || kept.status || kept.since || kept.until;
    if (!page.runs.length) {
      const none = filtered ? "No runs match." : "No runs yet: start one above.";
      body.append(el("tr", {}, el("td", { colspan: COLUMNS.length }, none)));
    }
    where.textContent = page.runs.length
      ? `Runs ${page.offset + 1}–${page.offset + page.runs.length} of ${page.total}${filtered ? " found" : ""}`
      : (filtered ? "No runs match." : "No runs yet.");
    previous.disabled = page.offset === 0;
    next.disabled = !page.more;
  };
  const from = (offset) => { kept.offset = Math.max(0, offset); load(); };
  previous.addEventListener("click", () => from(kept.offset - PAGE));
  next.addEventListener("click", () => from(kept.offset + PAGE));
  const search = () => {
    Object.assign(kept, { q: text.value.trim(), status: status.value, since: since.value, until: until.value });
    from(0);
  };
  let typing = null;
  text.addEventListener("input", () => { clearTimeout(typing); typing = setTimeout(search, TYPING); });
  for (const field of [status, since, until]) field.addEventListener("change", search);
  await load();
  let pending = null;
  const stop = onLog((event) => {
    if (!CHANGES.includes(event.type) || pending) return;
    pending = setTimeout(() => { pending = null; load(); }, 200);
  });
  return () => { stop(); clearTimeout(typing); clearTimeout(pending); asked++; };
}

function row(r) {
  const failure = r.error ? el("div", { class: "links", title: r.error }, cut(r.error, 120)) : null;
  const link = (run) => el("a", { href: `#/run/${run}` }, shortId(run));
  const from = r.parent_run ? [link(r.parent_run)] // a fork's parent; an item's run (FanOut)
    : r.item_of ? [`item ${r.item_of.item} of `, link(r.item_of.run)] : [];
  return el("tr", {},
    el("td", {}, el("a", { href: `#/run/${r.run_id}` }, shortId(r.run_id))),
    el("td", {}, r.workflow),
    el("td", {}, el("span", { class: `status ${r.status}` }, r.status), failure),
    el("td", { class: "num" }, String(r.events)),
    el("td", {}, when(r.created_at)),
    el("td", { class: "num" }, `${duration(r.duration)}${r.driver.now ? " so far" : ""}`),
    el("td", {}, r.driver.label || "—"),
    el("td", {}, ...from));
}

// 0.4 s, 12.5 s, 3 min 4 s, 2 h 5 min
function duration(seconds) {
  if (seconds < 60) return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function cut(text, most) {
  return text.length > most ? `${text.slice(0, most)}…` : text;
}

function startForm() {
  const path = el("input", { id: "wf-path", name: "path", required: true, size: 50,
    placeholder: "examples/counter.json" });
  const variables = el("input", { id: "wf-vars", size: 30, placeholder: "target=5, name=text" });
  const paused = el("input", { id: "wf-paused", type: "checkbox", checked: true });
  const form = el("form", { class: "start", "aria-label": "Start a workflow" },
    el("h2", {}, "Start a workflow"),
    el("label", { for: "wf-path" }, "Workflow file"), path,
    el("label", { for: "wf-vars" }, "Variables"), variables,
    el("label", { class: "inline" }, paused, " Pause before the first node"),
    el("button", { type: "submit" }, "Start"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const started = await attempt(() => api("api/runs",
      { path: path.value, paused: paused.checked, variables: pairs(variables.value) }));
    if (started) location.hash = `#/run/${started.run_id}`;
  });
  return form;
}

// "a=1, b=text" (or a JSON object) as {a: 1, b: "text"}; a part without "=" is a mistake
function pairs(text) {
  const hint = "write name=value pairs separated by commas (target=5, name=text) or a JSON object";
  if (text.trim().startsWith("{")) {
    const found = typed(text);
    if (typeof found !== "object") throw new ApiError({ message: "Variables: that is not a JSON object.", hint });
    return found;
  }
  const found = {};
  for (const part of text.split(/[,\n]/)) {
    if (!part.trim()) continue;
    const [name, ...rest] = part.split("=");
    if (!rest.length || !name.trim() || /\s/.test(name.trim())) {
      throw new ApiError({ message: `Variables: "${part.trim()}" is not name=value.`, hint });
    }
    found[name.trim()] = typed(rest.join("=").trim());
  }
  return found;
}
