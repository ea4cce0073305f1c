// The timeline: a scrubber over a run's events, each named by its seq (the log's one
// numbering, which `weboter state RUN --at SEQ`, `weboter fork RUN --at SEQ` and MCP's `at_seq`
// take too; seqs count across every run in the log, so a run's are not always consecutive). At
// any position it shows the state right after that event (variables, what the event changed
// marked), the page of the step it belongs to, the events around it, and what can be done from
// there: fork with edited variables, or rewind a paused run to it. At the newest event it
// follows the run.
import { api, attempt, report } from "./api.js";
import { clear, el, show, typed } from "./dom.js";

export function drawTimeline(root, run, refresh, onAt) {
  let first = run.first_seq;
  let last = run.seq;
  let position = last; // a seq of this run
  let near = []; // the seqs of the run's events around the position, from the last answer
  let following = true;
  let asked = 0;
  const scrubber = el("input", { type: "range", min: first, max: last, value: position,
    id: "scrubber", "aria-label": "Timeline position" });
  const earlier = el("button", { type: "button" }, "Earlier event");
  const later = el("button", { type: "button" }, "Later event");
  const latest = el("button", { type: "button" }, "Latest event");
  const where = el("p", { class: "where", role: "status", "aria-live": "polite" });
  const stateBox = el("section", { "aria-label": "State at this point" });
  const pageBox = el("section", { "aria-label": "Page at this step" });
  const eventsBox = el("section", { "aria-label": "Events around this point" });
  const forkBox = el("section", { "aria-label": "From this point" });
  const searchBox = el("section", { "aria-label": "Search in the events" });
  root.append(el("h3", {}, "Timeline"), el("div", { class: "scrub" }, scrubber, earlier, later, latest),
    where, stateBox, pageBox, forkBox, eventsBox, searchBox);

  const ends = () => { // no step beyond either end, nor before the neighbours are known
    earlier.disabled = position <= first || !near.length;
    later.disabled = position >= last || !near.length;
    latest.disabled = position >= last;
    scrubber.setAttribute("aria-valuetext", `Seq ${position}`);
  };
  const go = (to) => {
    position = Math.min(Math.max(to, first), last);
    following = position === last;
    if (!near.includes(position)) near = []; // known again when the answer comes
    scrubber.value = position;
    ends();
    load();
  };
  // the run's next event before or after the position (its seqs may skip other runs' events)
  const step = (by) => {
    const seqs = by < 0 ? near.filter((s) => s < position) : near.filter((s) => s > position);
    if (seqs.length) go(by < 0 ? seqs[seqs.length - 1] : seqs[0]);
  };
  scrubber.addEventListener("input", () => go(Number(scrubber.value)));
  scrubber.addEventListener("keydown", (e) => { // arrow keys go event by event, not seq by seq
    const by = { ArrowLeft: -1, ArrowDown: -1, ArrowRight: 1, ArrowUp: 1 }[e.key];
    if (by) { e.preventDefault(); step(by); }
  });
  earlier.addEventListener("click", () => step(-1));
  later.addEventListener("click", () => step(1));
  latest.addEventListener("click", () => go(last));

  async function load() {
    const ticket = ++asked; // answers to older positions are dropped
    const at = await attempt(() => api(`api/runs/${run.run_id}/at/${position}`));
    if (ticket !== asked || !at) return;
    position = at.seq; // a point between two of the run's events shows the earlier one
    scrubber.value = position;
    near = at.around.map((e) => e.seq);
    ends();
    const event = at.event;
    where.textContent = `Seq ${at.seq}: ${event.type}` +
      (event.node_id ? ` (${event.node_id})` : "") + ` · ${at.status}`;
    drawState(stateBox, at);
    drawPage(pageBox, at.evidence);
    drawEvents(eventsBox, at.around, position, go);
    drawFork(at);
    if (onAt) onAt(at);
  }

  function drawFork(at) {
    clear(forkBox);
    const name = el("input", { id: "fork-name", placeholder: "e.g. target" });
    const value = el("input", { id: "fork-value", placeholder: "JSON or text, e.g. 5" });
    const paused = el("input", { id: "fork-paused", type: "checkbox" });
    const fork = el("button", { type: "submit" }, "Fork from here");
    const rewind = el("button", { type: "button", disabled: !["LOADED", "PAUSED", "ERROR"].includes(run.status) },
      "Rewind to here");
    const form = el("form", { class: "fork", "aria-label": "Fork from this point" },
      el("label", { for: "fork-name" }, "Variable to change"), name,
      el("label", { for: "fork-value" }, "New value"), value,
      el("label", { class: "inline" }, paused, " Pause the fork before it goes on"), fork, rewind);
    form.addEventListener("submit", async (e) => {
      e.preventDefault();
      if (value.value && !name.value.trim()) {
        report({ message: "Give the name of the variable to change.", hint: "e.g. target" });
        return;
      }
      const variables = name.value.trim() ? { [name.value.trim()]: typed(value.value) } : {};
      const body = { seq: at.seq, variables, paused: paused.checked };
      const made = await attempt(() => api(`api/runs/${run.run_id}/fork`, body));
      if (made) location.hash = `#/run/${made.run_id}`;
    });
    rewind.addEventListener("click", async () => {
      if (await attempt(() => api(`api/runs/${run.run_id}/rewind`, { seq: at.seq }))) await refresh();
    });
    forkBox.append(el("h4", {}, `From seq ${at.seq}`), form);
  }

  drawSearch(searchBox, run, (seq) => go(seq));
  go(position);
  return {
    go,
    step,
    latest: () => go(last),
    grow(next, acted = false) {
      run = next;
      first = next.first_seq;
      last = next.seq;
      scrubber.min = first;
      scrubber.max = last;
      if (following || acted) go(last);
      else { scrubber.value = position; ends(); }
    },
  };
}

// The variables right after the event; those it changed marked.
function drawState(stateBox, at) {
  clear(stateBox);
  const body = el("tbody");
  const changed = new Set(at.changed);
  for (const scope of ["global", "flow"]) {
    for (const [name, value] of Object.entries(at.variables[scope] || {})) {
      const isChanged = changed.has(`${scope}.${name}`);
      body.append(el("tr", { class: isChanged ? "changed" : "" },
        el("td", {}, scope), el("th", { scope: "row" }, name),
        el("td", { class: "value" }, show(value)),
        el("td", {}, isChanged ? el("mark", {}, "changed") : "")));
    }
  }
  if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 4 }, "No variables yet.")));
  stateBox.append(el("h4", {}, `State after seq ${at.seq}` + (at.current_node ? ` · next: ${at.current_node}` : "")),
    el("table", { class: "vars", "aria-label": "Variables" },
      el("thead", {}, el("tr", {}, ...["Scope", "Name", "Value", ""].map((h) => el("th", { scope: "col" }, h)))),
      body));
}

// The page of the last browser step at or before the point, where evidence was kept.
function drawPage(pageBox, evidence) {
  clear(pageBox);
  if (!evidence || !evidence.screenshot) return;
  pageBox.append(el("h4", {}, `Page after ${evidence.node_id}`),
    el("p", {}, evidence.url || ""),
    el("img", { class: "shot", src: `api/artifacts/${evidence.screenshot}`,
      alt: `Screenshot after node ${evidence.node_id}` }),
    evidence.dom ? el("p", {}, el("a", { href: `api/artifacts/${evidence.dom}`, target: "_blank",
      rel: "noopener" }, "DOM of this page (text)")) : null);
}

// The events around the point; a click goes there.
function drawEvents(eventsBox, events, position, go) {
  clear(eventsBox);
  const list = el("ol", { class: "events" });
  for (const e of events) {
    const button = el("button", { type: "button", class: "link" },
      `seq ${e.seq} ${e.type}${e.node_id ? ` ${e.node_id}` : ""}`);
    button.addEventListener("click", () => go(e.seq));
    list.append(el("li", { class: e.seq === position ? "here" : "",
      "aria-current": e.seq === position ? "true" : null }, button));
  }
  eventsBox.append(el("h4", {}, "Events"), list);
}

// Search the run's events (type, node, content), on the server: a click on a hit goes there.
function drawSearch(box, run, go) {
  const input = el("input", { id: "events-q", type: "search", placeholder: "e.g. NodeFailed, login, 404" });
  const found = el("ol", { class: "events", "aria-label": "Events found" });
  const said = el("p", { role: "status", "aria-live": "polite", class: "muted" });
  const form = el("form", { class: "search", role: "search", "aria-label": "Search the run's events" },
    el("label", { for: "events-q" }, "Search events"), input, el("button", { type: "submit" }, "Search"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clear(found);
    const q = input.value.trim();
    if (!q) { said.textContent = ""; return; }
    // the server looks through a stretch of events per request: go on until 100 hits or the end
    const hits = [];
    let after = 0;
    let last = 0;
    said.textContent = "searching…";
    do {
      const page = await attempt(() => api(`api/runs/${run.run_id}/events?q=${encodeURIComponent(q)}` +
        `&limit=${100 - hits.length}&after=${after}`));
      if (!page) return;
      hits.push(...page.events);
      if (page.next_after <= after) break;
      after = page.next_after;
      last = page.last_seq;
    } while (hits.length < 100 && after < last);
    for (const e of hits) {
      const button = el("button", { type: "button", class: "link" },
        `seq ${e.seq} ${e.type}${e.node_id ? ` ${e.node_id}` : ""}`);
      button.addEventListener("click", () => go(e.seq));
      found.append(el("li", {}, button));
    }
    const n = hits.length;
    said.textContent = n ? `${n} event${n === 1 ? "" : "s"} found` : `No event has "${q}".`;
  });
  box.append(form, said, found);
}
