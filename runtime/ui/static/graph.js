// A flow drawn as a graph, as of a point of the run's timeline: dagre (vendored) places the
// nodes, we draw SVG. Each node is a button (role, name "Node ID", aria-pressed = has a
// breakpoint, aria-current on the node the run was at, its description what it did so far:
// "ran 2 times, failed once, retried once"); the edges the run took are drawn heavier, with how often.
// Click or Enter/Space on a node calls `onToggle(node)`.
import { svg } from "./dom.js";

const WIDTH = 150;
const HEIGHT = 46;

export function drawFlow(flow, { marks, taken = [], current, erred, breakpoints, onToggle }) {
  const prefix = flow.path.join("/");
  const times = new Map(taken.filter((t) => t.path.join("/") === prefix).map((t) => [`${t.from}\u0000${t.to}`, t.times]));
  const layout = new window.dagre.graphlib.Graph({ multigraph: true });
  layout.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 40, marginx: 12, marginy: 12 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of flow.nodes) layout.setNode(node.id, { width: WIDTH, height: HEIGHT });
  flow.edges.forEach((edge, i) => layout.setEdge(edge.from, edge.to,
    { label: edge.label, width: 60, height: 14, times: times.get(`${edge.from}\u0000${edge.to}`) || 0 }, `e${i}`));
  window.dagre.layout(layout);
  const size = layout.graph();
  const root = svg("svg", {
    class: "graph", viewBox: `0 0 ${size.width} ${size.height}`,
    width: size.width, height: size.height, "aria-label": `Graph of ${flow.name}`, role: "group",
  });
  root.append(svg("defs", {}, svg("marker", {
    id: `arrow-${flow.path.join("-")}`, viewBox: "0 0 10 10", refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse",
  }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))));
  for (const id of layout.edges()) {
    const edge = layout.edge(id);
    const d = edge.points.map((p, i) => `${i ? "L" : "M"} ${p.x} ${p.y}`).join(" ");
    root.append(svg("path", { d, class: edge.times ? "edge taken" : "edge",
      "data-edge": `${id.v}->${id.w}`, "marker-end": `url(#arrow-${flow.path.join("-")})` }));
    const label = [edge.label, edge.times ? `${edge.times}×` : ""].filter(Boolean).join(" · ");
    if (label) root.append(svg("text", { x: edge.x, y: edge.y, class: "edge-label" }, label));
  }
  for (const node of flow.nodes) {
    const place = layout.node(node.id);
    const mark = { done: 0, failed: 0, skipped: 0, ...(marks[`${prefix}/${node.id}`] || {}) };
    const isCurrent = current && current.node === node.id && current.path.join("/") === prefix;
    const hasBreak = breakpoints.has(node.id);
    const classes = ["node",
      mark.done ? "done" : "", mark.failed && !mark.done ? "failed" : "",
      mark.skipped && !mark.done && !mark.failed ? "skipped" : "",
      mark.retried ? "retried" : "", mark.healed ? "healed" : "",
      isCurrent ? "current" : "", isCurrent && erred ? "failed" : "", hasBreak ? "breakpoint" : "",
      node.id === flow.start ? "start" : ""].filter(Boolean).join(" ");
    const action = node.action.replace(/^builtin\./, "");
    const group = svg("g", {
      class: classes, role: "button", tabindex: 0, "aria-label": `Node ${node.id}`,
      "aria-pressed": hasBreak ? "true" : "false", "aria-current": isCurrent ? "step" : null,
      "aria-description": described(mark),
      "data-node": node.id,
      transform: `translate(${place.x - WIDTH / 2}, ${place.y - HEIGHT / 2})`,
    },
    svg("title", {}, `${node.id}${node.name ? ` — ${node.name}` : ""}\n${action}; ${described(mark)}` +
      "\nclick: toggle a breakpoint before it"),
    svg("rect", { width: WIDTH, height: HEIGHT, rx: 8 }),
    svg("text", { x: 10, y: 19, class: "node-id" }, node.id),
    svg("text", { x: 10, y: 36, class: "node-action" }, action + (mark.done ? ` · ${mark.done}×` : "") +
      (mark.retried ? " ↻" : "") + (mark.healed ? " ✚" : "") + (mark.skipped ? " ⤼" : "")),
    hasBreak ? svg("circle", { cx: WIDTH - 12, cy: 12, r: 6, class: "break-dot" }) : null);
    const toggle = () => onToggle(node, !hasBreak);
    group.addEventListener("click", toggle);
    group.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(); }
    });
    root.append(group);
  }
  return root;
}

// What a node did as of the cursor, in words: "ran 3 times, failed once, retried once", or
// "not run yet".
function described(mark) {
  const said = [["ran", mark.done], ["failed", mark.failed], ["skipped", mark.skipped],
    ["retried", mark.retried], ["healed", mark.healed], ["patched", mark.patched]]
    .filter(([, n]) => n).map(([word, n]) => `${word} ${n === 1 ? "once" : `${n} times`}`);
  return said.length ? said.join(", ") : "not run yet";
}
