// A run's page: its controls, its workflow as graphs, the timeline with the state at any
// event, the page of that step, and what can be done from there (fork, rewind, set, patch,
// repairs). It follows the run live: a new event of this run redraws what changed.
import { api, attempt, onLog, report } from "./api.js";
import { clear, el, shortId, show } from "./dom.js";
import { drawFlow } from "./graph.js";
import { drawTimeline } from "./timeline.js";
import { drawChanges } from "./changes.js";
import { drawActions } from "./actions.js";
import { shortcuts } from "./keys.js";

const CONTROLS = [ // label, verb (the server says which the run allows now: run.can)
  ["Continue", "continue"], ["Pause", "pause"], ["Step", "step"], ["Step over", "over"],
  ["Stop", "stop"], ["Retry", "retry"], ["Skip", "skip"],
];

export async function showRun(root, runId) {
  const state = { run: null, catalog: null, timeline: null, actions: null, at: null };
  const title = el("h2");
  const status = el("p", { class: "run-status", role: "status", "aria-live": "polite" });
  const links = el("p", { class: "links" });
  const toolbar = el("div", { role: "toolbar", "aria-label": "Run controls", class: "toolbar" });
  const graphs = el("section", { class: "graphs", "aria-label": "Workflow graph" });
  const errors = el("section", { class: "errors", "aria-label": "Error and repairs" });
  const timelineBox = el("section", { class: "timeline", "aria-label": "Timeline" });
  const changesBox = el("section", { class: "changes", "aria-label": "Change the run" });
  const actionsBox = el("section", { class: "trace", "aria-label": "Action list" });
  const other = el("input", { id: "compare-with", size: 16, placeholder: "a run id or its start" });
  const compare = el("form", { class: "compare", "aria-label": "Compare with another run" },
    el("label", { for: "compare-with" }, "Compare with run"), other,
    el("button", { type: "submit" }, "Compare"));
  compare.addEventListener("submit", (e) => {
    e.preventDefault();
    if (other.value.trim()) location.hash = `#/diff/${runId}/${encodeURIComponent(other.value.trim())}`;
  });
  root.append(title, status, links, compare, toolbar,
    el("div", { class: "columns" }, el("div", {}, errors, graphs, changesBox),
      el("div", {}, actionsBox, timelineBox)));

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

  // the graph as of the time cursor: its marks, the path taken, the node the run was at then
  function drawGraphs(run) {
    const at = state.at && state.at.run_id === run.run_id ? state.at : null;
    const view = at ? { marks: at.graph.marks, taken: at.graph.taken, current: at.current,
      erred: at.status === "ERROR", seq: at.seq }
      : { marks: run.marks, taken: run.taken, current: run.current, erred: run.status === "ERROR", seq: run.seq };
    const focused = document.activeElement && document.activeElement.dataset
      ? document.activeElement.dataset.node : undefined;
    clear(graphs);
    graphs.append(el("h3", {}, `Workflow as of seq ${view.seq}`), el("p", { class: "legend" },
      el("span", { class: "key current" }, "current"), el("span", { class: "key done" }, "ran"),
      el("span", { class: "key failed" }, "failed"), el("span", { class: "key skipped" }, "skipped"),
      el("span", { class: "key retried" }, "↻ retried"), el("span", { class: "key healed" }, "✚ healed"),
      el("span", { class: "key taken" }, "→ path taken"), el("span", { class: "key breakpoint" }, "breakpoint"),
      " Click a node to toggle a breakpoint before it."));
    const breakpoints = new Set(run.breakpoints.filter((b) => (b.when || "before") === "before").map((b) => b.node_id));
    run.flows.forEach((flow, i) => {
      const drawn = drawFlow(flow, { marks: view.marks, taken: view.taken, current: view.current,
        erred: view.erred, breakpoints, onToggle: toggle });
      if (i === 0) { graphs.append(drawn); return; }
      const inside = view.current && view.current.path.join("/") === flow.path.join("/");
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
    if (!state.actions) {
      state.actions = drawActions(actionsBox, run, (seq) => state.timeline.go(seq));
      await state.actions.ready;
    } else await state.actions.grow(run, acted);
    if (!state.timeline) {
      state.timeline = drawTimeline(timelineBox, run, () => refresh(true), (at) => {
        state.at = at;
        drawGraphs(state.run);
        state.actions.at(at.seq);
      });
    } else state.timeline.grow(run, acted);
  }

  // listen before the first read: an event committed while it is answered schedules a read
  // of its own (registered after it, a run that ended meanwhile would show RUNNING for ever)
  let pending = null;
  let rewound = false; // a rewind made elsewhere (CLI, MCP, another tab): steps read again
  const stop = onLog((event) => {
    if (event.run_id !== runId) return;
    rewound = rewound || event.type === "RunRewound";
    if (pending) return;
    pending = setTimeout(() => { pending = null; const anew = rewound; rewound = false; refresh(anew); }, 150);
  });
  const keys = shortcuts({ // each acts once the page knows the run (and its timeline)
    continue: () => act("continue"), step: () => act("step"), over: () => act("over"),
    pause: () => act("pause"), stop: () => act("stop"),
    earlier: () => state.timeline && state.timeline.step(-1),
    later: () => state.timeline && state.timeline.step(1),
    latest: () => state.timeline && state.timeline.latest(),
    allowed: (verb) => Boolean(state.run && state.run.can.includes(verb)),
  });
  state.catalog = await attempt(() => api("api/catalog"));
  await refresh();
  return () => { stop(); keys(); };
}


// The error, its screenshot, "Ask the AI", and each open suggestion to approve or reject.
function drawErrors(errors, run, refresh) {
  clear(errors);
  if (!run.error && !run.suggestions.length) return;
  errors.append(el("h3", {}, "Error and repairs"));
  if (run.error) {
    const e = run.error;
    errors.append(el("p", { class: "error-text" }, `${e.kind} at ${e.node_id || "?"}: `, ...linked(e.message)));
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
  const driven = run.driver && run.driver.label ? ` · driven by ${run.driver.label}` : "";
  status.textContent = `Status: ${run.status}${where}${why} · ${run.events} events${driven}`;
  status.className = `run-status status ${run.status}`;
  for (const [i, [, verb]] of CONTROLS.entries()) buttons[i].disabled = !run.can.includes(verb);
  clear(links);
  if (run.parent_run) {
    links.append("Forked from ", el("a", { href: `#/run/${run.parent_run}` }, shortId(run.parent_run)),
      ` at seq ${run.parent_seq} · `,
      el("a", { href: `#/diff/${run.parent_run}/${run.run_id}` }, "Compare with parent"), " ");
  }
  if (run.item_of) {
    const of = run.item_of;
    links.append(`Item ${of.index + 1} of node ${of.node} of run `,
      el("a", { href: `#/run/${of.run}` }, shortId(of.run)), " ");
  }
  for (const child of run.children) {
    links.append(" Fork ", el("a", { href: `#/run/${child}` }, shortId(child)), " (",
      el("a", { href: `#/diff/${run.run_id}/${child}` }, `Compare with fork ${shortId(child)}`), ")");
  }
}

// A message with the artifacts it names (…/artifacts/ab/<sha256>.png) as links to them.
function linked(text) {
  const parts = [];
  let last = 0;
  for (const found of text.matchAll(/\S*?([0-9a-f]{64}\.(?:png|html))/g)) {
    parts.push(text.slice(last, found.index));
    parts.push(el("a", { href: `api/artifacts/${found[1]}`, target: "_blank", rel: "noopener" }, found[0]));
    last = found.index + found[0].length;
  }
  parts.push(text.slice(last));
  return parts;
}
