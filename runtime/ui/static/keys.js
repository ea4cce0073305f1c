// Keyboard shortcuts of a run's page, and the overlay that lists them ("?" or the button).
// A key typed into a field is the field's: shortcuts act only outside inputs.
import { el } from "./dom.js";

export const KEYS = [ // key, what it does, the handler's name
  ["c", "Continue", "continue"],
  ["s", "Step one node", "step"],
  ["o", "Step over (a sub-flow runs whole)", "over"],
  ["p", "Pause", "pause"],
  ["X", "Stop (Shift+X: it ends the run)", "stop"],
  [",", "Earlier event (scrub back)", "earlier"],
  [".", "Later event (scrub on)", "later"],
  ["End", "Latest event", "latest"],
  ["?", "Show or hide this list", "help"],
];

const VERBS = ["continue", "step", "over", "pause", "stop"];

let dialog = null;

function helpDialog() {
  if (dialog) return dialog;
  dialog = el("dialog", { id: "shortcuts", "aria-label": "Keyboard shortcuts" },
    el("h2", {}, "Keyboard shortcuts"),
    el("table", { "aria-label": "Shortcuts" },
      el("tbody", {}, ...KEYS.map(([key, what]) =>
        el("tr", {}, el("th", { scope: "row" }, el("kbd", {}, key)), el("td", {}, what))))),
    el("p", { class: "muted" }, "On the timeline's slider, the arrow keys step event by event too."),
    el("form", { method: "dialog" }, el("button", { type: "submit" }, "Close")));
  document.body.append(dialog);
  return dialog;
}

export function toggleHelp() {
  const box = helpDialog();
  if (box.open) box.close();
  else box.showModal();
}

// Listen on the page; returns what stops listening (when the page is left).
export function shortcuts(handlers) {
  const onKey = (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || document.querySelector("dialog[open]")) return;
    if (typing(event.target)) return;
    const found = KEYS.find(([key]) => key === event.key);
    if (!found) return;
    const name = found[2];
    if (name === "help") return; // the page's own (app.js), on every page
    if (VERBS.includes(name) && !handlers.allowed(name)) return;
    event.preventDefault();
    handlers[name]();
  };
  document.addEventListener("keydown", onKey);
  return () => document.removeEventListener("keydown", onKey);
}

// "?" anywhere outside a field, and the header's button: the list of shortcuts.
export function helpKey(button) {
  button.addEventListener("click", toggleHelp);
  document.addEventListener("keydown", (event) => {
    if (event.key !== "?" || typing(event.target)) return;
    event.preventDefault();
    toggleHelp();
  });
}

// a key typed into a text field is the field's (the slider, a checkbox or a button take none)
const TEXT = ["text", "search", "number", "email", "url", "password", "tel", "date"];
function typing(target) {
  if (!target || !target.closest) return false;
  if (target.closest("textarea, select, [contenteditable]")) return true;
  const input = target.closest("input");
  return Boolean(input) && TEXT.includes(input.type || "text");
}
