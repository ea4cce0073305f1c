"""An engine in this process: every actor wired to one bridge, its in-process client, the
`serve` loop for other processes, and the settings that say where things live."""

from weboter.runtime.engine.client import EngineClient, JobRejected
from weboter.runtime.engine.engine import Engine
from weboter.runtime.engine.settings import Settings, default_db, home

__all__ = ["Engine", "EngineClient", "JobRejected", "Settings", "default_db", "home"]
