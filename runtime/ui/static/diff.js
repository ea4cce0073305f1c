// Two runs side by side: each step (a node run) of both, what differs, the first divergence
// marked. Usually a run and its fork: the fork's edited variable shows from its first step.
import { api, attempt } from "./api.js";
import { el, shortId, show } from "./dom.js";

export async function showDiff(root, a, b) {
  const found = await attempt(() => api(`api/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`));
  root.append(el("h2", {}, `Compare runs ${shortId(a)} and ${shortId(b)}`));
  if (!found) return () => {};
  root.append(el("p", { class: "links" },
    el("a", { href: `#/run/${found.run_a}` }, `Run A ${shortId(found.run_a)}`), " · ",
    el("a", { href: `#/run/${found.run_b}` }, `Run B ${shortId(found.run_b)}`)));
  const summary = found.first_divergence === null
    ? "The runs agree at every step."
    : `First divergence at step ${found.first_divergence + 1}.`;
  const extra = [found.only_a ? `${found.only_a} more steps in A` : "",
    found.only_b ? `${found.only_b} more steps in B` : ""].filter(Boolean).join("; ");
  root.append(el("p", { role: "status" }, summary + (extra ? ` ${extra}.` : "")));
  const body = el("tbody");
  for (const step of found.steps) {
    const first = step.index === found.first_divergence;
    const changes = el("ul");
    for (const [kind, entries] of Object.entries(step.changes)) {
      if (entries && typeof entries === "object" && "a" in entries) {
        changes.append(el("li", {}, `${kind}: ${show(entries.a)} → ${show(entries.b)}`));
        continue;
      }
      for (const [name, pair] of Object.entries(entries)) {
        changes.append(el("li", {}, `${kind} ${name}: ${show(pair.a)} → ${show(pair.b)}`));
      }
    }
    body.append(el("tr", { class: first ? "divergence" : "" },
      el("td", { class: "num" }, String(step.index + 1)),
      el("td", {}, step.node_a), el("td", {}, step.node_b), el("td", {}, changes),
      el("td", {}, first ? el("mark", {}, "first divergence") : "")));
  }
  if (!found.steps.length) body.append(el("tr", {}, el("td", { colspan: 5 }, "No step differs.")));
  root.append(el("table", { class: "diff", "aria-label": "Steps that differ" },
    el("thead", {}, el("tr", {}, ...["Step", "Node in A", "Node in B", "What differs (A → B)", ""]
      .map((h) => el("th", { scope: "col" }, h)))), body));
  return () => {};
}
