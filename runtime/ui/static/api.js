// Talking to the UI server: JSON requests (changes carry the token), one alert for errors,
// and the live stream of the log's new events. Every URL is relative: the page lives under its
// own path, the only one its cookie is sent to (docs/ui.md, "Security").
import { el, clear } from "./dom.js";

const TOKEN = document.querySelector('meta[name="weboter-token"]').content;
const alertBox = document.getElementById("alert");
const liveText = document.getElementById("live");

// --- talking to the server -------------------------------------------------------------------

export class ApiError extends Error {
  constructor(error) {
    super(error.message);
    this.hint = error.hint || "";
    this.findings = error.findings || [];
  }
}

export async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-Weboter-Token": TOKEN },
    body: JSON.stringify(body),
  };
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: { message: response.statusText } }));
  if (!response.ok) throw new ApiError(data.error || { message: response.statusText });
  if (body !== undefined) report(null); // a change went through: the last error is over
  return data;
}

// One message at a time, with what to do about it; cleared by the next success.
export function report(error) {
  if (!error) { alertBox.hidden = true; clear(alertBox); return; }
  clear(alertBox);
  alertBox.append(el("strong", {}, error.message));
  if (error.hint) alertBox.append(el("p", {}, `To fix: ${error.hint}`));
  for (const f of error.findings || []) { // the errors are in the message; warnings are not
    if (f.severity !== "error") alertBox.append(el("p", {}, `${f.severity}: ${f.path}: ${f.message}`));
  }
  alertBox.hidden = false;
}

// Run `work`, showing its error (if any) in the alert; returns its result or undefined.
// Only a change that goes through clears the alert (`api`): a read the page makes by itself
// (the refresh after an action, a live update) must not wipe the error of what the user did.
export async function attempt(work) {
  try {
    return await work();
  } catch (error) {
    report(error);
    return undefined;
  }
}

// --- the live stream: every new event of the log, resumed by the browser on reconnect -----

const listeners = new Set();
export function onLog(fn) { listeners.add(fn); return () => listeners.delete(fn); }

export function follow() {
  const source = new EventSource("api/stream");
  source.addEventListener("hello", () => { liveText.textContent = "live"; });
  source.addEventListener("log", (message) => {
    const event = JSON.parse(message.data);
    for (const fn of listeners) fn(event);
  });
  source.onerror = () => { liveText.textContent = "reconnecting…"; };
}
