// A run's page: its controls, its workflow as graphs, the timeline with the state at any
// event, the page of that step, and what can be done from there (fork, rewind, set, patch,
// repairs). It follows the run live: a new event of this run redraws what changed.
import { api, attempt, onLog, report } from "./api.js";
import { clear, el, shortId, show } from "./dom.js";
import { drawFlow } from "./graph.js";
import { drawTimeline } from "./timeline.js";
import { drawChanges } from "./changes.js";

const CONTROLS = [ // label, verb (the server says which the run allows now: run.can)
  ["Continue", "continue"], ["Pause", "pause"], ["Step", "step"], ["Step over", "over"],
  ["Stop", "stop"], ["Retry", "retry"], ["Skip", "skip"],
];

export async function showRun(root, runId) {
  const state = { run: null, catalog: null, timeline: null };
  const title = el("h2");
  const status = el("p", { class: "run-status", role: "status", "aria-live": "polite" });
  const links = el("p", { class: "links" });
  const toolbar = el("div", { role: "toolbar", "aria-label": "Run controls", class: "toolbar" });
  const graphs = el("section", { class: "graphs", "aria-label": "Workflow graph" });
  const errors = el("section", { class: "errors", "aria-label": "Error and repairs" });
  const timelineBox = el("section", { class: "timeline", "aria-label": "Timeline" });
  const changesBox = el("section", { class: "changes", "aria-label": "Change the run" });
  root.append(title, status, links, toolbar,
    el("div", { class: "columns" }, el("div", {}, errors, graphs, changesBox), timelineBox));

  const buttons = CONTROLS.map(([label, verb]) => {
    const button = el("button", { type: "button", "data-verb": verb }, label);
    button.addEventListener("click", () => act(verb));
    toolbar.append(button);
    return button;
  });

  async function act(verb) {
    const id = state.run.run_id;
    if (verb === "retry" || verb === "skip") {
      // the repair is recorded first; the run goes on only if it was accepted
      const repaired = await attempt(() => api(`api/runs/${id}/repair`, { action: verb }));
      if (repaired) await attempt(() => api(`api/runs/${id}/continue`, {}));
    } else {
      await attempt(() => api(`api/runs/${id}/${verb}`, {}));
    }
    await refresh(true);
  }

  async function toggle(node, on) {
    const done = await attempt(() => api(`api/runs/${state.run.run_id}/breakpoint`,
      { node_id: node.id, on }));
    if (done) await refresh(true);
  }

  function drawGraphs(run) {
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.node : undefined;
    clear(graphs);
    graphs.append(el("h3", {}, "Workflow"), el("p", { class: "legend" },
      el("span", { class: "key current" }, "current"), el("span", { class: "key done" }, "ran"),
      el("span", { class: "key failed" }, "failed"), el("span", { class: "key breakpoint" }, "breakpoint"),
      " Click a node to toggle a breakpoint before it."));
    const breakpoints = new Set(run.breakpoints.filter((b) => (b.when || "before") === "before").map((b) => b.node_id));
    run.flows.forEach((flow, i) => {
      const drawn = drawFlow(flow, { marks: run.marks, current: run.current, erred: run.status === "ERROR",
        breakpoints, onToggle: toggle });
      if (i === 0) { graphs.append(drawn); return; }
      const inside = run.current && run.current.path.join("/") === flow.path.join("/");
      graphs.append(el("details", { open: inside || null },
        el("summary", {}, `Sub-flow ${flow.name}`), drawn));
    });
    if (focused) { // the node a keyboard user was on keeps the focus
      const again = graphs.querySelector(`[data-node="${CSS.escape(focused)}"]`);
      if (again) again.focus();
    }
  }

  let asked = 0;
  async function refresh(acted = false) {
    const ticket = ++asked; // an older answer never overwrites a newer one
    const found = await api(`api/runs/${encodeURIComponent(runId)}`).catch(report);
    if (!found || ticket !== asked) return;
    const run = found;
    state.run = run;
    drawHeader({ title, status, links, buttons }, run);
    drawGraphs(run);
    drawErrors(errors, run, refresh);
    drawChanges(changesBox, run, state.catalog, () => refresh(true));
    if (!state.timeline) state.timeline = drawTimeline(timelineBox, run, () => refresh(true));
    else state.timeline.grow(run, acted);
  }

  // listen before the first read: an event committed while it is answered schedules a read
  // of its own (registered after it, a run that ended meanwhile would show RUNNING for ever)
  let pending = null;
  const stop = onLog((event) => {
    if (event.run_id !== runId || pending) return;
    pending = setTimeout(() => { pending = null; refresh(); }, 150);
  });
  state.catalog = await attempt(() => api("api/catalog"));
  await refresh();
  return stop;
}


// The error, its screenshot, "Ask the AI", and each open suggestion to approve or reject.
function drawErrors(errors, run, refresh) {
  clear(errors);
  if (!run.error && !run.suggestions.length) return;
  errors.append(el("h3", {}, "Error and repairs"));
  if (run.error) {
    const e = run.error;
    errors.append(el("p", { class: "error-text" }, `${e.kind} at ${e.node_id || "?"}: ${e.message}`));
    if (e.hint) errors.append(el("p", {}, `Hint: ${e.hint}`));
    if (e.evidence && e.evidence.screenshot) {
      errors.append(el("img", { class: "shot", src: `api/artifacts/${e.evidence.screenshot}`,
        alt: `Screenshot when ${e.node_id} failed` }));
    }
  }
  if (run.status === "ERROR") {
    const ask = el("button", { type: "button", disabled: !run.model,
      title: run.model ? "" : "no model is configured: docs/ai.md says how (WEBOTER_AI_BASE_URL, WEBOTER_AI_MODEL)" },
    "Ask the AI for a repair");
    const asking = el("span", { role: "status", "aria-live": "polite" });
    ask.addEventListener("click", async () => {
      ask.disabled = true;
      asking.textContent = " asking the model…";
      const found = await attempt(() => api(`api/runs/${run.run_id}/suggest`, {}));
      asking.textContent = found ? "" : " (no suggestion)";
      ask.disabled = false;
      if (found) await refresh(true);
    });
    errors.append(el("p", {}, ask, asking));
  }
  for (const s of run.suggestions) {
    const approve = el("button", { type: "button" }, "Approve");
    const reject = el("button", { type: "button" }, "Reject");
    approve.addEventListener("click", async () => {
      if (await attempt(() => api(`api/runs/${run.run_id}/repair`, { action: s.action }))) await refresh(true);
    });
    reject.addEventListener("click", async () => {
      if (await attempt(() => api(`api/runs/${run.run_id}/reject`, { action: s.action }))) await refresh(true);
    });
    errors.append(el("article", { class: "suggestion", "aria-label": `Suggestion from ${s.source}` },
      el("p", {}, `${s.source} suggests ${s.action.kind}` +
        (s.action.node_id ? ` on ${s.action.node_id}` : "") + ` (confidence ${s.confidence.toFixed(2)})`),
      el("p", {}, `Reason: ${s.action.reason || "none given"}`),
      s.needs_approval ? el("p", { class: "needs-approval" }, `Held for you: ${s.needs_approval}`) : "",
      el("pre", {}, show(s.action)), approve, reject));
  }
}

// `acted`: a person changed the run just now: the timeline goes to its newest event

// The title, the status line, the controls enabled as the run allows, parent and forks.
function drawHeader({ title, status, links, buttons }, run) {
  title.textContent = `Run ${shortId(run.run_id)} · ${run.workflow.name || run.workflow.id}`;
  const at = run.current && !run.current.node.startsWith("__") ? run.current.node : ""; // __end__
  const where = at ? ` at ${at}` : "";
  const why = [run.pause_reason, run.waiting_for].filter(Boolean).map((w) => ` (${w})`).join("");
  status.textContent = `Status: ${run.status}${where}${why} · ${run.events} events`;
  status.className = `run-status status ${run.status}`;
  for (const [i, [, verb]] of CONTROLS.entries()) buttons[i].disabled = !run.can.includes(verb);
  clear(links);
  if (run.parent_run) {
    links.append("Forked from ", el("a", { href: `#/run/${run.parent_run}` }, shortId(run.parent_run)),
      ` at seq ${run.parent_seq} · `,
      el("a", { href: `#/diff/${run.parent_run}/${run.run_id}` }, "Compare with parent"), " ");
  }
  for (const child of run.children) {
    links.append(" Fork ", el("a", { href: `#/run/${child}` }, shortId(child)), " (",
      el("a", { href: `#/diff/${run.run_id}/${child}` }, `Compare with fork ${shortId(child)}`), ")");
  }
}
