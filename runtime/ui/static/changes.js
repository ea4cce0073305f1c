// Changing a run that waits (LOADED, PAUSED, ERROR): set a variable, or patch a node's inputs
// with a form built from the catalog (every input its action reads, required ones marked).
import { api, attempt } from "./api.js";
import { clear, el, show, typed } from "./dom.js";

const WAITING = ["LOADED", "PAUSED", "ERROR"];

export function drawChanges(root, run, catalog, refresh) {
  // drawn again only when what it shows changed: a live refresh keeps what is being typed
  const where = run.current ? `${run.current.path.join("/")}/${run.current.node}` : "";
  const key = `${run.status} ${where} ${JSON.stringify(run.flows)}`;
  if (root.dataset.key === key) return;
  root.dataset.key = key;
  clear(root);
  if (!WAITING.includes(run.status)) return;
  root.append(el("h3", {}, "Change the run"), variableForm(run, refresh), patchForm(run, catalog, refresh));
}

function variableForm(run, refresh) {
  const scope = el("select", { id: "set-scope" }, el("option", { value: "global" }, "global"),
    el("option", { value: "flow" }, "flow"));
  const name = el("input", { id: "set-name", required: true });
  const value = el("input", { id: "set-value", placeholder: "JSON or text" });
  const form = el("form", { class: "set", "aria-label": "Set a variable" },
    el("label", { for: "set-scope" }, "Scope"), scope,
    el("label", { for: "set-name" }, "Variable"), name,
    el("label", { for: "set-value" }, "Value"), value,
    el("button", { type: "submit" }, "Set variable"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { scope: scope.value, name: name.value, value: typed(value.value) };
    if (await attempt(() => api(`api/runs/${run.run_id}/variable`, body))) await refresh();
  });
  return form;
}

// the node last chosen to patch in each run ("path/id"): kept when the form is drawn again
const chosen = new Map();

// the node a person most likely wants to patch: the one that failed, else the one the run is at
function likely(run) {
  const where = run.current ? run.current.path.join("/") : "";
  if (run.error && run.error.node_id) return `${run.error.flow_path && run.error.flow_path.length ? run.error.flow_path.join("/") : where}/${run.error.node_id}`;
  return run.current ? `${where}/${run.current.node}` : "";
}

function patchForm(run, catalog, refresh) {
  const nodes = run.flows.flatMap((flow) => flow.nodes.map((node) => ({ flow, node })));
  const keyOf = ({ flow, node }) => `${flow.path.join("/")}/${node.id}`;
  const wanted = chosen.get(run.run_id) || likely(run);
  const choice = el("select", { id: "patch-node" },
    ...nodes.map((entry, i) => el("option", { value: i, selected: keyOf(entry) === wanted || null },
      entry.flow.path.length > 1 ? `${entry.flow.name} / ${entry.node.id}` : entry.node.id)));
  const fields = el("div", { class: "fields" });
  const form = el("form", { class: "patch", "aria-label": "Patch a node" },
    el("label", { for: "patch-node" }, "Node to patch"), choice, fields,
    el("button", { type: "submit" }, "Patch node"));
  const inputsFor = () => {
    clear(fields);
    const entry = nodes[Number(choice.value)];
    if (!entry) return;
    const { node } = entry;
    const spec = find(catalog, node.action);
    const names = spec ? [...spec.required, ...spec.optional] : Object.keys(node.inputs);
    for (const key of Object.keys(node.inputs)) if (!names.includes(key)) names.push(key);
    if (spec && spec.doc) fields.append(el("p", { class: "doc" }, spec.doc));
    for (const key of names) {
      const id = `patch-${key}`;
      const required = spec && spec.required.includes(key);
      const value = key in node.inputs ? show(node.inputs[key]) : "";
      fields.append(el("label", { for: id }, required ? `${key} (required)` : key),
        el("input", { id, name: key, value, required: required || null,
          "data-given": key in node.inputs ? "1" : null }));
    }
  };
  choice.addEventListener("change", () => { // a person's choice stays until they choose again
    const entry = nodes[Number(choice.value)];
    if (entry) chosen.set(run.run_id, keyOf(entry));
    inputsFor();
  });
  inputsFor();
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const { flow, node } = nodes[Number(choice.value)];
    const inputs = {};
    for (const input of fields.querySelectorAll("input")) {
      if (input.value !== "" || input.dataset.given) inputs[input.name] = typed(input.value);
    }
    const body = { node_id: node.id, path: flow.path, inputs };
    if (await attempt(() => api(`api/runs/${run.run_id}/patch`, body))) await refresh();
  });
  return form;
}

function find(catalog, action) {
  if (!catalog) return null;
  return catalog.actions.find((a) => a.name === action || a.name.endsWith(`.${action}`)) || null;
}
