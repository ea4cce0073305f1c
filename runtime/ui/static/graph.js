// A flow drawn as a graph: dagre (vendored) places the nodes, we draw SVG. Each node is a
// button (role, name "Node ID", aria-pressed = has a breakpoint; aria-current on the node the
// run is at): click or Enter/Space calls `onToggle(node)`.
import { svg } from "./dom.js";

const WIDTH = 150;
const HEIGHT = 46;

export function drawFlow(flow, { marks, current, erred, breakpoints, onToggle }) {
  const layout = new window.dagre.graphlib.Graph({ multigraph: true });
  layout.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 40, marginx: 12, marginy: 12 });
  layout.setDefaultEdgeLabel(() => ({}));
  for (const node of flow.nodes) layout.setNode(node.id, { width: WIDTH, height: HEIGHT });
  flow.edges.forEach((edge, i) =>
    layout.setEdge(edge.from, edge.to, { label: edge.label, width: 60, height: 14 }, `e${i}`));
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
    root.append(svg("path", { d, class: "edge", "marker-end": `url(#arrow-${flow.path.join("-")})` }));
    if (edge.label) root.append(svg("text", { x: edge.x, y: edge.y, class: "edge-label" }, edge.label));
  }
  const prefix = flow.path.join("/");
  for (const node of flow.nodes) {
    const place = layout.node(node.id);
    const mark = marks[`${prefix}/${node.id}`] || { done: 0, failed: 0 };
    const isCurrent = current && current.node === node.id && current.path.join("/") === prefix;
    const hasBreak = breakpoints.has(node.id);
    const classes = ["node",
      mark.done ? "done" : "", mark.failed && !mark.done ? "failed" : "",
      isCurrent ? "current" : "", isCurrent && erred ? "failed" : "", hasBreak ? "breakpoint" : "",
      node.id === flow.start ? "start" : ""].filter(Boolean).join(" ");
    const action = node.action.replace(/^builtin\./, "");
    const group = svg("g", {
      class: classes, role: "button", tabindex: 0, "aria-label": `Node ${node.id}`,
      "aria-pressed": hasBreak ? "true" : "false", "aria-current": isCurrent ? "step" : null,
      "data-node": node.id,
      transform: `translate(${place.x - WIDTH / 2}, ${place.y - HEIGHT / 2})`,
    },
    svg("title", {}, `${node.id}${node.name ? ` — ${node.name}` : ""}\n${action}; ran ${mark.done}×` +
      (mark.failed ? `, failed ${mark.failed}×` : "") + "\nclick: toggle a breakpoint before it"),
    svg("rect", { width: WIDTH, height: HEIGHT, rx: 8 }),
    svg("text", { x: 10, y: 19, class: "node-id" }, node.id),
    svg("text", { x: 10, y: 36, class: "node-action" }, action + (mark.done ? ` · ${mark.done}×` : "")),
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
