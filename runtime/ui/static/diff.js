// Two runs side by side: their steps (node runs) lined up by the nodes they ran (a longest
// common subsequence: an extra loop in one run leaves the rest matched), every row where they
// differ, the first divergence marked — and from there, a fork of run B right before it parted,
// with run A's values, in one click.
import { api, attempt } from "./api.js";
import { el, shortId, show } from "./dom.js";

export async function showDiff(root, a, b) {
  const found = await attempt(() => api(`api/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`));
  root.append(el("h2", {}, `Compare runs ${shortId(a)} and ${shortId(b)}`));
  if (!found) return () => {};
  root.append(el("p", { class: "links" },
    el("a", { href: `#/run/${found.run_a}` }, `Run A ${shortId(found.run_a)}`), " · ",
    el("a", { href: `#/run/${found.run_b}` }, `Run B ${shortId(found.run_b)}`)));
  const first = found.steps.find((s) => s.index === found.first_divergence);
  const summary = !first
    ? "The runs agree at every step."
    : `First divergence at step ${(first.step_a ?? first.step_b) + 1}` +
      ` (A: ${first.node_a ?? "—"}, B: ${first.node_b ?? "—"}).`;
  const steps = (n) => `${n} step${n === 1 ? "" : "s"}`;
  const extra = [found.only_a ? `${steps(found.only_a)} only in A` : "",
    found.only_b ? `${steps(found.only_b)} only in B` : ""].filter(Boolean).join("; ");
  root.append(el("p", { role: "status" }, summary + (extra ? ` ${extra}.` : "")));
  if (found.fork_from) root.append(forkForm(found));
  const body = el("tbody");
  for (const step of found.steps) {
    const isFirst = step.index === found.first_divergence;
    const changes = el("ul");
    for (const [kind, entries] of Object.entries(step.changes)) {
      if (kind === "only") { changes.append(el("li", {}, `only run ${entries.toUpperCase()} ran this step`)); continue; }
      if (entries && typeof entries === "object" && "a" in entries) {
        changes.append(el("li", {}, `${kind}: ${show(entries.a)} → ${show(entries.b)}`));
        continue;
      }
      for (const [name, pair] of Object.entries(entries)) {
        changes.append(el("li", {}, `${kind} ${name}: ${show(pair.a)} → ${show(pair.b)}`));
      }
    }
    body.append(el("tr", { class: isFirst ? "divergence" : "" },
      el("td", { class: "num" }, step.step_a == null ? "—" : String(step.step_a + 1)),
      el("td", {}, step.node_a ?? "—", step.seq_a ? el("span", { class: "muted" }, ` seq ${step.seq_a}`) : ""),
      el("td", { class: "num" }, step.step_b == null ? "—" : String(step.step_b + 1)),
      el("td", {}, step.node_b ?? "—", step.seq_b ? el("span", { class: "muted" }, ` seq ${step.seq_b}`) : ""),
      el("td", {}, changes),
      el("td", {}, isFirst ? el("mark", {}, "first divergence") : "")));
  }
  if (!found.steps.length) body.append(el("tr", {}, el("td", { colspan: 6 }, "No step differs.")));
  root.append(el("table", { class: "diff", "aria-label": "Steps that differ" },
    el("thead", {}, el("tr", {}, ...["Step in A", "Node in A", "Step in B", "Node in B", "What differs (A → B)", ""]
      .map((h) => el("th", { scope: "col" }, h)))), body));
  return () => {};
}

// "Fork B here with A's values": the event right before B parted, A's global variables there.
function forkForm(found) {
  const at = found.fork_from;
  const names = Object.keys(at.variables);
  const paused = el("input", { id: "diverge-paused", type: "checkbox" });
  const button = el("button", { type: "submit" }, "Fork run B at the divergence with run A's values");
  const form = el("form", { class: "fork", "aria-label": "Fork at the divergence" },
    el("p", {}, `Run ${shortId(at.run_id)} right after seq ${at.seq}` +
      (names.length ? `, with ${names.map((n) => `${n} = ${show(at.variables[n])}`).join(", ")} (as in run A)` :
        " (run A's variables are the same there)")),
    el("label", { class: "inline" }, paused, " Pause the fork before it goes on"), button);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const made = await attempt(() => api(`api/runs/${at.run_id}/fork`,
      { seq: at.seq, variables: at.variables, paused: paused.checked }));
    if (made) location.hash = `#/run/${made.run_id}`;
  });
  return form;
}
