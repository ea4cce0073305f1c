// Weboter's dev UI: the router (the runs page: runs.js; a run: run.js; two runs: diff.js).
// No build step: plain ES modules, served as they are.
import { showRun } from "./run.js";
import { showDiff } from "./diff.js";
import { showRuns } from "./runs.js";
import { clear } from "./dom.js";
import { follow, report } from "./api.js";
import { helpKey } from "./keys.js";

const view = document.getElementById("view");

// --- routing ---------------------------------------------------------------------------------

let leave = () => {};
let shown = 0; // which route is on screen: a page still loading when another was asked for
async function route() {
  const mine = ++shown;
  leave();
  leave = () => {};
  report(null);
  const [, page, a, b] = location.hash.split("/");
  clear(view);
  let stop;
  if (page === "run" && a) stop = await showRun(view, decodeURIComponent(a));
  else if (page === "diff" && a && b) stop = await showDiff(view, a, b);
  else stop = await showRuns(view);
  if (mine === shown) leave = stop;
  else stop(); // superseded while loading: stop following for it
}

window.addEventListener("hashchange", route);
helpKey(document.getElementById("help-keys"));
follow();
route();
