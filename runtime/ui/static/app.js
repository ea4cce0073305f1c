// Weboter's dev UI: the router and the runs page (a run: run.js; two runs: diff.js).
// No build step: plain ES modules, served as they are.
import { showRun } from "./run.js";
import { showDiff } from "./diff.js";
import { el, clear, shortId, typed, when } from "./dom.js";
import { ApiError, api, attempt, follow, onLog, report } from "./api.js";
import { helpKey } from "./keys.js";

const view = document.getElementById("view");

// --- routing ---------------------------------------------------------------------------------

let leave = () => {};
let shown = 0; // which route is on screen: a page still loading when another was asked for
async function route() {
  const mine = ++shown;
  leave();
  leave = () => {};
  report(null);
  const [, page, a, b] = location.hash.split("/");
  clear(view);
  let stop;
  if (page === "run" && a) stop = await showRun(view, decodeURIComponent(a));
  else if (page === "diff" && a && b) stop = await showDiff(view, a, b);
  else stop = await showRuns(view);
  if (mine === shown) leave = stop;
  else stop(); // superseded while loading: stop following for it
}

// --- the runs page ---------------------------------------------------------------------------

const STATUSES = ["", "LOADED", "RUNNING", "STEPPING", "PAUSED", "ERROR", "COMPLETED", "FAILED", "STOPPED"];

async function showRuns(root) {
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

  const status = el("select", { id: "runs-status" },
    ...STATUSES.map((s) => el("option", { value: s }, s || "any")));
  const text = el("input", { id: "runs-filter", type: "search", placeholder: "workflow or run id" });
  const body = el("tbody");
  const table = el("table", { class: "runs" },
    el("caption", {}, "Runs, newest first"),
    el("thead", {}, el("tr", {}, ...["Run", "Workflow", "Status", "Events", "Started", "Forked from"]
      .map((h) => el("th", { scope: "col" }, h)))),
    body);
  root.append(form,
    el("section", { "aria-label": "Runs" },
      el("h2", {}, "Runs"),
      el("div", { class: "filters" },
        el("label", { for: "runs-status" }, "Status"), status,
        el("label", { for: "runs-filter" }, "Filter"), text),
      table));

  let rows = [];
  const draw = () => {
    clear(body);
    const wanted = text.value.trim().toLowerCase();
    for (const r of rows) {
      if (status.value && r.status !== status.value) continue;
      if (wanted && !`${r.run_id} ${r.workflow}`.toLowerCase().includes(wanted)) continue;
      body.append(el("tr", {},
        el("td", {}, el("a", { href: `#/run/${r.run_id}` }, shortId(r.run_id))),
        el("td", {}, r.workflow),
        el("td", {}, el("span", { class: `status ${r.status}` }, r.status)),
        el("td", { class: "num" }, String(r.events)),
        el("td", {}, when(r.created_at)),
        el("td", {}, r.parent_run ? el("a", { href: `#/run/${r.parent_run}` }, shortId(r.parent_run)) : "")));
    }
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "No runs yet: start one above.")));
  };
  const load = async () => { rows = await attempt(() => api("api/runs?limit=200")) || rows; draw(); };
  status.addEventListener("change", draw);
  text.addEventListener("input", draw);
  await load();
  let pending = null;
  return onLog((event) => {
    if (!["RunCreated", "RunCompleted", "RunFailed", "RunStopped", "RunPaused", "NodeFailed",
      "RunStarted", "RunResumed"].includes(event.type) || pending) return;
    pending = setTimeout(() => { pending = null; load(); }, 200);
  });
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

window.addEventListener("hashchange", route);
helpKey(document.getElementById("help-keys"));
follow();
route();
