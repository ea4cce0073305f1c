"""What each builtin action and control does and what its inputs mean, in one line each: the
`doc` of its catalog entry (`weboter catalog`, the MCP `catalog` tool, the prompts a model
gets). A plugin writes its own `doc` on its specs."""

from __future__ import annotations

FIND = (
    " Finding the element: `locator` {element, type: css|xpath|text|role|label|placeholder|"
    "alt|title|testid, ext (e.g. {name: ...} for a role), pos: first|last|N}; `locators`: "
    "alternatives tried in order; `scope`: an element variable to look inside; `timeout`: ms."
)
HTTP = (
    "`url`; `headers`, `params` (query), `timeout` (s); one body: `json_body`, `form_body` or "
    "`body` (text). Outputs status_code, headers, body (text), json (or null), ok (2xx)."
)

DOCS: dict[str, str] = {  # table
    "builtin.EmptyAction": "Does nothing (a place for a control to decide); `message`: a label.",
    "builtin.SleepFor": "Waits `duration` seconds.",
    "builtin.SetData": "Stores `value` in the variable `key` names: $flow{x}, $global{x} or "
    "a plain name (flow).",
    "builtin.PyEvalAction": "Evaluates the safe expression `expr` (literals, operators, a few "
    "functions; never Python eval) with `param1`..`param4` bound; output `result`.",
    "builtin.WriteTextFile": "Writes `content` to `path` inside the workspace (`append` to "
    "add, `encoding`).",
    "builtin.SubFlow": "Calls the sub-flow `flow_id`: `data_in` pickers set its variables, "
    "`data_out` pickers become this node's outputs when it ends.",
    "data.JsonParse": "Parses `text` as JSON into `data`.",
    "data.JsonStringify": "Writes `data` as JSON `text` (`pretty`: indented).",
    "data.JsonGetPath": "Reads `path` (like a.b[0]) out of `data`: `value`, `found`; "
    "`default` when missing, `strict`: a missing path fails.",
    "data.RegexExtract": "Matches the bounded regex `pattern` in `text`: `value` (first "
    "match's `group`), `values` (all when `all`), `matched`; `flags`: letters i m s x.",
    "data.Base64Encode": "Encodes `text` as `base64`.",
    "data.Base64Decode": "Decodes `base64` into `text` (`encoding`).",
    "data.DictMerge": "Merges the mappings in `items` (later ones win) into `result`.",
    "data.ListUnique": "Keeps the first occurrence of each item of `items` in `result`.",
    "builtin.FetchUrl": "GETs `url` without a browser: `content`, `final_url`, `status_code`.",
    "http.HttpRequest": "An HTTP request with `method`: " + HTTP,
    "http.HttpGet": "An HTTP GET: " + HTTP,
    "http.HttpPost": "An HTTP POST: " + HTTP,
    "http.HttpPut": "An HTTP PUT: " + HTTP,
    "http.HttpDelete": "An HTTP DELETE: " + HTTP,
    "http.HttpPatch": "An HTTP PATCH: " + HTTP,
    "http.HttpHead": "An HTTP HEAD: " + HTTP,
    "builtin.OpenBrowser": "Starts the run's browser (optional: any browser action does).",
    "builtin.OpenPage": "Goes to `url` in the current tab; `wait_until`: load|domcontentloaded|"
    "networkidle|commit; HTTP 400+ fails unless `allow_error_status`; `timeout` ms.",
    "builtin.GoBack": "Goes back one page in the current tab.",
    "builtin.Reload": "Reloads the current tab.",
    "builtin.NewPage": "Opens a new tab (at `url`, if given), current from now on.",
    "builtin.SwitchPage": "Makes a tab current: by `index` (negative from the end) or the first "
    "whose URL contains `url`.",
    "builtin.ClosePage": "Closes the current tab; the last remaining one becomes current.",
    "builtin.SwitchFrame": "Element actions look inside the iframe `locator` finds from now on; "
    "without a locator, back to the page.",
    "builtin.EvaluateJS": "Runs JavaScript `script` in the page (an expression, or a function "
    "that gets `arg`); output `result`.",
    "builtin.Screenshot": "A PNG of the page (`full_page`) or of one element (`locator`), kept "
    "beside the log: `artifact`, `path`.",
    "builtin.Scroll": "Scrolls by `amount` px, or `to` top|bottom, or `until_no_new` (a "
    "locator) stops matching new items (`max_rounds`, `pause` s).",
    "builtin.Download": "Clicks what `locator` finds and keeps the downloaded file." + FIND,
    "builtin.ClickItem": "Clicks an element (`force`: skip checks; `no_error`: a failed click "
    "gives clicked=false)." + FIND,
    "builtin.FillInput": "Types `text` into an input (replacing its value)." + FIND,
    "builtin.WaitElement": "Waits for an element; `element_found` true or false, never "
    "fails." + FIND,
    "builtin.ExtractData": "Reads one element's `data_source`: text|html|value|attr:NAME into "
    "`data`." + FIND,
    "builtin.GetElement": "Finds one element and keeps it as an element variable." + FIND,
    "builtin.GetElements": "Finds every matching element as element variables (`wait`: for a "
    "first one)." + FIND,
    "builtin.NextElement": "The sibling after the element variable `element`.",
    "builtin.SelectOption": "Selects option(s) of a <select> by `value` or `label`." + FIND,
    "builtin.PressKey": "Presses `key` (Enter, Control+A, ...) on an element or the page." + FIND,
    "builtin.Hover": "Moves the mouse over an element." + FIND,
    "builtin.Check": "Checks a checkbox or radio (`checked`: false unchecks)." + FIND,
    "builtin.UploadFile": "Sets the file input's `files` (paths in the workspace)." + FIND,
    "builtin.AssertText": "Fails unless the element's text contains `text` (`exact`: "
    "equals)." + FIND,
    "builtin.AssertVisible": "Fails unless the element is visible." + FIND,
    "builtin.ExtractList": "One record per element the locator matches: `fields` {name: "
    "{locator inside the item, data_source}}. No item: an error, unless `allow_empty` is true "
    "or the locator is a chain [list, items] whose list is on the page (then [])." + FIND,
    "builtin.ExportData": "Writes the list of mappings `data` to `path` in the workspace as "
    "`format` csv|json|jsonl.",
    "builtin.NextNode": "Always goes to `next_node`.",
    "builtin.IfElse": "`then_node` if `var` `operator` `value` holds (operator eq|ne|gt|gte|"
    "lt|lte|contains|in; default eq), else `else_node`.",
    "builtin.LoopUntil": "`loop_out` once `var` equals `value`; else `loop_back`, at most "
    "`loop_tries` times (0: no limit), then `loop_fail_node` (or `loop_out`).",
    "builtin.ByMap": "Goes to `route_map[key]`, else `default_node`.",
    "builtin.EndFlow": "Ends the flow (__end__): a sub-flow returns, the main flow completes.",
    "builtin.ForEach": "Visits `items`: sets $flow{item} and $flow{index} (names in `item`, "
    "`index`) and goes to `body`, whose last node comes back here; then `done`.",
    "builtin.Paginate": "Goes to `loop_back` while `has_next` is true, `max_pages` at most "
    "(0: no limit); then `done`.",
}
