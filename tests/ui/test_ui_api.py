"""The dev UI's HTTP side, as a script or another site would meet it: who may read and change
(token, Host, Origin), the live stream (ids are the log's seqs; a reconnect resumes without a
gap), secrets shown as references, artifacts that never run, and errors that say how to fix."""

from __future__ import annotations

import http.client
import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.ai.model_server import ModelServer, Reply
from tests.incli import cli
from tests.ui.conftest import ROOT, UI, get, launch, post, request, shutdown
from weboter.runtime.demo.run import PASSWORD
from weboter.runtime.store.artifacts import ArtifactStore
from weboter.runtime.store.reading import Reader

pytestmark = pytest.mark.timeout(120)
COUNTER = str(ROOT / "examples" / "counter.json")


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UI]:
    """One `weboter ui` for this module's tests that talk to one: each starts runs of its own
    (or none) and reads only those. A start and stop of the server are seconds."""
    started = launch(tmp_path_factory.mktemp("ui"))
    try:
        yield started
    finally:
        shutdown(started)


def run_to_the_end(ui: UI, path: str = COUNTER, **variables: object) -> tuple[str, list[dict]]:
    """Start a run through the API and follow the stream until it completes."""
    status, started = post(ui, "/api/runs", {"path": path, "variables": variables, "paused": False})
    assert status == 200, started
    seen = list(stream(ui, f"/api/stream?run={started['run_id']}&after=0", until="RunCompleted"))
    return started["run_id"], seen


def stream(ui: UI, path: str, *, until: str, last_id: str | None = None) -> list[dict]:
    """Server-sent events of `path` until one of type `until` (each read bounded: 30 s)."""
    where = urlsplit(ui.url)
    conn = http.client.HTTPConnection(where.hostname, where.port, timeout=30)
    headers = {"X-Weboter-Token": ui.token, **({"Last-Event-ID": last_id} if last_id else {})}
    conn.request("GET", path, headers=headers)
    answer = conn.getresponse()
    assert answer.status == 200
    found, fields = [], {}
    try:
        while True:
            line = answer.fp.readline().decode().rstrip("\r\n")
            if line:
                name, _, value = line.partition(":")
                fields[name] = value.strip()
                continue
            if fields.get("event") == "log":
                event = json.loads(fields["data"])
                assert fields["id"] == str(event["seq"])  # the id is the log's seq
                found.append(event)
                if event["type"] == until:
                    return found
            fields = {}
    finally:
        conn.close()


def test_changes_need_the_token_and_the_same_origin(ui: UI) -> None:
    body = {"path": COUNTER, "variables": {"target": 2}}
    assert post(ui, "/api/runs", body, **{"X-Weboter-Token": ""})[0] == 403
    assert post(ui, "/api/runs", body, **{"X-Weboter-Token": "not-the-token"})[0] == 403
    status, said = post(ui, "/api/runs", body, Origin="http://evil.example")
    assert status == 403
    assert "evil.example" in said["error"]["message"]
    host = urlsplit(ui.url).netloc
    status, started = post(ui, "/api/runs", body, Origin=f"http://{host}")
    assert status == 200
    assert get(ui, "/api/runs")[1][0]["run_id"] == started["run_id"]


def test_reading_needs_the_token_too(ui: UI) -> None:
    for path in ("/", "/api/runs", "/api/stream", "/static/app.js"):
        status, _, body = request(ui.url, "GET", path)
        assert status == 401, path  # another account of this host gets nothing
        assert b"X-Weboter-Token" in body
    status, headers, _ = request(ui.url, "GET", f"/?token={ui.token}")
    assert status == 303  # the printed URL: the token goes into a cookie, out of the address
    page = headers["location"]  # the page's own path: its cookie goes there and nowhere else
    assert re.fullmatch(r"/ui-[0-9a-f]{32}/", page)
    assert ui.token not in page
    port = urlsplit(ui.url).port
    assert headers["set-cookie"].startswith(f"weboter_ui_{port}={ui.token};")
    assert f"Path={page.rstrip('/')}" in headers["set-cookie"]
    cookie = headers["set-cookie"].split(";")[0]
    for path in (page, f"{page}api/runs", f"{page}static/app.js"):
        assert request(ui.url, "GET", path, headers={"Cookie": cookie})[0] == 200, path
        assert request(ui.url, "GET", path)[0] == 401, path  # the path alone opens nothing
    decoy = f"weboter_ui_{port}=set-by-another-port"  # another port may set one for path /
    assert request(ui.url, "GET", page, headers={"Cookie": f"{decoy}; {cookie}"})[0] == 200
    assert request(ui.url, "GET", "/?token=wrong-token")[0] == 401
    # the token in a URL only on the entry it redirects from: no API URL carries it
    assert request(ui.url, "GET", f"/api/runs?token={ui.token}")[0] == 401


def test_only_its_own_name_reaches_it_on_loopback(ui: UI) -> None:
    port = urlsplit(ui.url).port
    status, said = get(ui, "/api/runs", Host=f"rebound.example:{port}")
    assert status == 421  # a page that points its domain at 127.0.0.1 gets nothing
    assert "own address" in said["error"]["message"]
    assert get(ui, "/api/runs", Host=f"localhost:{port}")[0] == 200


def test_beyond_loopback_only_with_a_token(tmp_path: Path) -> None:
    refused = cli("ui", "--host", "0.0.0.0", "--no-open", home=tmp_path)
    assert refused.returncode == 2
    assert "without a token" in refused.stderr
    assert "--token" in refused.stderr
    token = "a-long-enough-token-1234"
    ui = launch(tmp_path, "--host", "0.0.0.0", "--token", token)
    try:
        port = urlsplit(ui.url).port
        assert ui.url == f"http://0.0.0.0:{port}/?token={token}"
        local = f"http://127.0.0.1:{port}/"
        assert request(local, "GET", "/api/runs")[0] == 401
        assert request(local, "GET", "/")[0] == 401
        status, headers, _ = request(local, "GET", f"/?token={token}")
        assert status == 303
        assert "HttpOnly" in headers["set-cookie"]
        assert "SameSite=strict" in headers["set-cookie"]
        cookie = headers["set-cookie"].split(";")[0]
        assert request(local, "GET", "/api/runs", headers={"Cookie": cookie})[0] == 200
    finally:
        shutdown(ui)


def test_the_stream_resumes_after_the_last_id_without_a_gap(ui: UI) -> None:
    run, seen = run_to_the_end(ui, target=3)
    with Reader(ui.db_path) as log:
        seqs = [r.seq for r in log.events(run)]
    assert [e["seq"] for e in seen] == seqs  # every event, in order, none twice
    assert all("version" not in e for e in seen)  # one numbering: the seq
    middle = seqs[len(seqs) // 2]
    again = stream(ui, f"/api/stream?run={run}", until="RunCompleted", last_id=str(middle))
    assert [e["seq"] for e in again] == [s for s in seqs if s > middle]


def test_secrets_are_shown_as_their_references(ui: UI, tmp_path: Path) -> None:
    flow = {
        "id": "secret",
        "name": "keeps a secret",
        "nodes": [
            {
                "id": "keep",
                "action": "SetData",
                "inputs": {"key": "$global{pw}", "value": "$env{shop.password}"},
                "control": "EndFlow",
            }
        ],
    }
    path = tmp_path / "secret.json"
    path.write_text(json.dumps(flow))
    run, _ = run_to_the_end(ui, str(path))
    _, shown = get(ui, f"/api/runs/{run}/at/{get(ui, f'/api/runs/{run}')[1]['seq']}")
    assert shown["variables"]["global"]["pw"] == "$env{shop.password}"
    for page in (f"/api/runs/{run}", f"/api/runs/{run}/events?after=0", "/api/runs"):
        shown = request(ui.url, "GET", page, headers={"X-Weboter-Token": ui.token})[2]
        assert PASSWORD not in shown.decode()


def test_artifacts_are_shown_never_run(ui: UI) -> None:
    store = ArtifactStore.beside(ui.db_path)
    name = store.put(b"<script>fetch('/api/runs', {method: 'POST'})</script>", ".html")
    token = {"X-Weboter-Token": ui.token}
    status, headers, body = request(ui.url, "GET", f"/api/artifacts/{name}", headers=token)
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    assert headers["content-security-policy"] == "sandbox"
    assert body.startswith(b"<script>")
    storage = store.put(b'{"cookies": [{"name": "session"}]}', ".json")
    for bad in (storage, "0" * 64 + ".exe", "nothing.png", f"{name}%0A", "..%2Fweboter.db"):
        assert request(ui.url, "GET", f"/api/artifacts/{bad}", headers=token)[0] == 404, bad
    page = request(ui.url, "GET", "/", headers=token)[1]
    assert "script-src 'self'" in page["content-security-policy"]


def test_bad_requests_say_what_and_how(ui: UI, tmp_path: Path) -> None:
    status, said = post(ui, "/api/runs", {"path": str(tmp_path / "none.yaml")})
    assert status == 400
    assert "no such file" in said["error"]["message"]
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps({"id": "b", "name": "b", "nodes": [{"id": "a", "action": "Nope"}]})
    )
    status, said = post(ui, "/api/runs", {"path": str(broken)})
    assert status == 400
    assert any("Nope" in f["message"] for f in said["error"]["findings"])
    assert get(ui, "/api/runs/ffffffffffff")[0] == 404
    run, _ = run_to_the_end(ui, target=2)
    status, said = get(ui, f"/api/runs/{run}/at/0")
    assert status == 400
    assert "pick a point" in said["error"]["hint"]
    for path in (f"events?after={2**70}", "steps?after=none", f"steps?limit={2**64}"):
        status, said = get(ui, f"/api/runs/{run}/{path}")
        assert status == 400, (path, said)  # said as JSON, with what to give
        assert said["error"]["message"] and said["error"]["hint"], path
    status, said = get(ui, f"/api/runs/{run}/steps/1")  # before the run's first step
    assert status == 400 and "no step at or before seq 1" in said["error"]["message"]
    status, said = post(ui, f"/api/runs/{run}/continue", {})
    assert status == 409  # a completed run cannot go on: why, and nothing changed
    assert said["error"]["message"]
    assert (
        request(ui.url, "POST", "/api/runs", b"{not json", {"X-Weboter-Token": ui.token})[0] == 400
    )


def test_a_run_is_read_and_forked_by_the_seqs_the_log_gives_it(ui: UI) -> None:
    """Seqs count across the log: a run left waiting while another runs whole, then continued,
    has a gap in its seqs. The API names its events by seq, takes a seq for `at` (a point in
    the gap shows the run's event before it) and for a fork, and the CLI takes the same."""
    status, started = post(ui, "/api/runs", {"path": COUNTER, "variables": {"target": 2}})
    assert status == 200, started
    first = started["run_id"]
    other, _ = run_to_the_end(ui, target=2)
    assert post(ui, f"/api/runs/{first}/continue", {})[0] == 200
    stream(ui, f"/api/stream?run={first}&after=0", until="RunCompleted")
    with Reader(ui.db_path) as log:
        mine, theirs = [r.seq for r in log.events(first)], [r.seq for r in log.events(other)]
    gap = next(i for i in range(1, len(mine)) if mine[i] != mine[i - 1] + 1)
    _, run = get(ui, f"/api/runs/{first}")
    assert (run["first_seq"], run["seq"], run["events"]) == (mine[0], mine[-1], len(mine))

    _, at = get(ui, f"/api/runs/{first}/at/{theirs[0]}")  # a point in the gap
    assert (at["seq"], at["next"]) == (mine[gap - 1], mine[gap])
    assert [e["seq"] for e in at["around"]] == mine[max(gap - 13, 0) : gap + 12]
    _, page = get(ui, f"/api/runs/{first}/events?after={mine[gap - 1]}&limit=2")
    assert [e["seq"] for e in page["events"]] == mine[gap : gap + 2]
    assert page["next_after"] == mine[gap + 1]
    status, said = get(ui, f"/api/runs/{first}/at/{mine[-1] + 1}")
    assert status == 400
    assert f"from seq {mine[0]} to seq {mine[-1]}" in said["error"]["message"]

    status, forked = post(ui, f"/api/runs/{first}/fork", {"seq": mine[gap], "paused": True})
    assert status == 200, forked
    assert forked["at_seq"] == mine[gap]
    said = cli("state", first, "--at", str(mine[gap]), "--json", home=ui.home)
    assert json.loads(said.stdout)["seq"] == mine[gap], said.stderr


def test_weboter_ui_help_teaches(tmp_path: Path) -> None:
    helped = cli("ui", "--help", home=tmp_path)
    assert helped.returncode == 0, helped.stderr
    shown = helped.stdout
    for words in ("--token", "--port", "breakpoint", "timeline", "fork"):
        assert words in shown


def test_the_model_suggests_a_repair_when_asked(tmp_path: Path) -> None:
    fix = json.dumps({"kind": "set_variables", "variables": {"target": 2}, "reason": "unset"})
    with ModelServer([Reply(fix)]) as model:
        ui = launch(tmp_path, env=model.env())
        try:
            status, started = post(ui, "/api/runs", {"path": COUNTER, "paused": False})
            run = started["run_id"]
            stream(ui, f"/api/stream?run={run}&after=0", until="NodeFailed")
            status, found = post(ui, f"/api/runs/{run}/suggest", {})
            assert status == 200, found
            assert found["action"]["variables"] == {"target": 2}
            offered = get(ui, f"/api/runs/{run}")[1]["suggestions"]
            assert [(s["source"], s["action"]["reason"]) for s in offered] == [("model", "unset")]
        finally:
            shutdown(ui)


def test_asking_without_a_model_says_how_to_configure_one(ui: UI) -> None:
    _, started = post(ui, "/api/runs", {"path": COUNTER, "paused": False})
    stream(ui, f"/api/stream?run={started['run_id']}&after=0", until="NodeFailed")
    status, said = post(ui, f"/api/runs/{started['run_id']}/suggest", {})
    assert status == 503
    assert "WEBOTER_AI_" in said["error"]["hint"]
