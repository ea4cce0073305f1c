// The action list, as a trace viewer shows it: each step (a node run) with its node, action,
// outcome and duration; a click moves the time cursor to it. The step at the cursor is shown
// whole: its resolved inputs, outputs, error, before and after screenshots, the network
// requests and console messages of its pages while it ran, and its DOM.
import { api, attempt } from "./api.js";
import { clear, el, show } from "./dom.js";

const PAGE = 200; // steps asked for at a time

export function drawActions(root, run, go) {
  let steps = [];
  let more = true;
  let chosen = null; // the seq of the step shown whole
  let asked = 0;
  const list = el("ol", { class: "actions", "aria-label": "Actions" });
  const count = el("p", { class: "muted" });
  const detail = el("section", { class: "step", "aria-label": "Step details" });
  const moreButton = el("button", { type: "button" }, "More steps");
  moreButton.addEventListener("click", () => load());
  root.append(el("h3", {}, "Actions"), count, list, moreButton, detail);

  // one read at a time: a live update and a person's change arriving together must not both
  // add the same steps (each read goes on from where the one before it ended)
  let reading = Promise.resolve();
  function load() {
    reading = reading.then(async () => {
      const after = steps.length ? steps[steps.length - 1].seq : 0;
      const found = await attempt(() => api(`api/runs/${run.run_id}/steps?after=${after}&limit=${PAGE}`));
      if (!found) return;
      const known = new Set(steps.map((s) => s.seq));
      steps = steps.concat(found.steps.filter((s) => !known.has(s.seq)));
      more = found.more;
      draw();
    });
    return reading;
  }

  function draw() {
    clear(list);
    for (const step of steps) {
      const label = `seq ${step.seq} · ${step.node_id} · ${step.action.replace(/^builtin\./, "") || "—"}` +
        ` · ${outcomeOf(step)}` + (step.duration_ms != null ? ` · ${ms(step.duration_ms)}` : "");
      const button = el("button", { type: "button", class: "link", "data-seq": step.seq }, label);
      button.addEventListener("click", () => go(step.seq));
      list.append(el("li", { class: `${step.outcome} ${step.undone_at ? "undone" : ""}`,
        "aria-current": step.seq === chosen ? "step" : null }, button));
    }
    count.textContent = steps.length ? `${steps.length} steps${more ? " so far" : ""}` : "No step has run yet.";
    moreButton.hidden = !more;
  }

  // the step at or before the cursor (the server knows it, loaded in the list or not), whole
  async function at(seq) {
    const ticket = ++asked;
    if (steps.length && seq < steps[0].seq) { chosen = null; clear(detail); draw(); return; }
    const whole = await api(`api/runs/${run.run_id}/steps/${seq}`).catch(() => null);
    if (ticket !== asked) return;
    if (!whole) { chosen = null; clear(detail); draw(); return; }
    if (whole.seq !== chosen) { chosen = whole.seq; draw(); }
    drawStep(detail, whole);
  }

  return {
    async grow(next, anew = false) { // new events: the steps after the last one known
      run = next;                      // (anew: a person changed the run: read them all again)
      if (anew) {
        asked += 1; // a step being read for the old list is not drawn
        reading = reading.then(() => { steps = []; chosen = null; });
      }
      more = true;
      await load();
    },
    at,
    ready: load(),
  };
}

function outcomeOf(step) {
  const marks = step.marks.length ? ` (${step.marks.join(", ")})` : "";
  return `${step.outcome}${marks}${step.undone_at ? `, undone at seq ${step.undone_at}` : ""}`;
}

function ms(value) {
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${Math.round(value)} ms`;
}

function drawStep(root, step) {
  clear(root);
  root.append(el("h4", {}, `Step at seq ${step.seq}: ${step.node_id}`),
    el("dl", { class: "facts" },
      el("dt", {}, "Action"), el("dd", {}, step.action || "—"),
      el("dt", {}, "Outcome"), el("dd", {}, outcomeOf(step)),
      el("dt", {}, "Duration"), el("dd", {}, step.duration_ms != null ? ms(step.duration_ms) : "—"),
      el("dt", {}, "Attempts"), el("dd", {}, String(step.attempts ?? 1)),
      el("dt", {}, "Next node"), el("dd", {}, step.next_node || "—")));
  if (step.error) {
    root.append(el("p", { class: "error-text" }, `${step.error.kind}: ${step.error.message}`));
  }
  root.append(table("Inputs", step.inputs), table("Outputs", step.outputs));
  const kept = step.evidence || {};
  const shots = el("div", { class: "shots" });
  if (kept.before) shots.append(figure(kept.before, `Before ${step.node_id}`));
  if (kept.screenshot) shots.append(figure(kept.screenshot, `After ${step.node_id}`));
  if (shots.children.length) root.append(shots);
  if (kept.url) root.append(el("p", { class: "muted" }, kept.url));
  if (kept.dom) {
    root.append(el("p", {}, el("a", { href: `api/artifacts/${kept.dom}`, target: "_blank", rel: "noopener" },
      `DOM after ${step.node_id} (text)`)));
  }
  if (kept.network) root.append(network(kept.network));
  if (kept.console) root.append(consoleList(kept.console));
}

function table(title, values) {
  const body = el("tbody");
  for (const [name, value] of Object.entries(values || {})) {
    body.append(el("tr", {}, el("th", { scope: "row" }, name), el("td", { class: "value" }, show(value))));
  }
  if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 2 }, "none")));
  return el("table", { class: "vars", "aria-label": title }, el("caption", {}, title), body);
}

function figure(address, caption) {
  return el("figure", {}, el("img", { class: "shot", src: `api/artifacts/${address}`, alt: caption }),
    el("figcaption", {}, caption));
}

function network(entries) {
  const body = el("tbody");
  for (const e of entries) {
    body.append(el("tr", {}, el("td", {}, e.method || ""), el("td", { class: "value" }, e.url || e.text || ""),
      el("td", {}, e.status != null ? String(e.status) : (e.failure || "")), el("td", {}, e.type || "")));
  }
  return el("table", { class: "vars", "aria-label": "Network requests" },
    el("caption", {}, `Network requests (${entries.length})`),
    el("thead", {}, el("tr", {}, ...["Method", "URL", "Status", "Kind"].map((h) => el("th", { scope: "col" }, h)))),
    body);
}

function consoleList(entries) {
  return el("section", { "aria-label": "Console messages" },
    el("h5", {}, `Console messages (${entries.length})`),
    el("ul", { class: "console" }, ...entries.map((e) =>
      el("li", { class: e.type }, `${e.type}: ${e.text}` + (e.url ? ` (${e.url}${e.line != null ? `:${e.line}` : ""})` : "")))));
}
