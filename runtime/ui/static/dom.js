// Small DOM helpers shared by the pages. Text always goes in as text (never as HTML).

const SVG = "http://www.w3.org/2000/svg";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  setAttrs(node, attrs);
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function setAttrs(node, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "checked" || key === "disabled") node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
}

export function shortId(id) {
  return id.length > 12 ? id.slice(0, 12) : id;
}

export function when(seconds) {
  return seconds ? new Date(seconds * 1000).toLocaleString() : "";
}

export function show(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

// A JSON value typed by a person: JSON if it parses, else the text itself.
export function typed(text) {
  try { return JSON.parse(text); } catch { return text; }
}
