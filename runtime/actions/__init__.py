"""The actions layer: the builtin non-browser actions (basic, data, http, export) and the
catalog every engine uses — builtins, the browser actions and installed plugins.

Stands on `core` (catalog types, references) and `browser` (the browser actions' plugins).
"""

from dataclasses import replace

from weboter.runtime.actions.meanings import DOCS
from weboter.runtime.core.catalog import Catalog, Plugin, load_plugins


def builtin_plugins() -> list[Plugin]:
    """Every builtin plugin: actions of this layer and the browser layer, and the controls.
    Their actions are `bounded` (they end on their own, soon: see docs/security.md)."""
    from weboter.runtime.actions import basic, data, export, http  # noqa: PLC0415 - import cost
    from weboter.runtime.browser import elements, pages  # noqa: PLC0415
    from weboter.runtime.core import controls  # noqa: PLC0415

    plugins = [
        basic.PLUGIN,
        data.PLUGIN,
        http.PLUGIN,
        pages.PLUGIN,
        elements.PLUGIN,
        export.PLUGIN,
        controls.PLUGIN,
    ]
    return [
        replace(
            p,
            actions=[
                replace(a, bounded=True, doc=a.doc or DOCS.get(a.name, "")) for a in p.actions
            ],
            controls=[replace(c, doc=c.doc or DOCS.get(c.name, "")) for c in p.controls],
        )
        for p in plugins
    ]


_default: Catalog | None = None


def default_catalog() -> Catalog:
    """Builtins plus installed plugins, loaded once per process."""
    global _default  # noqa: PLW0603 - one catalog per process, built on first use
    if _default is None:
        _default = Catalog([*builtin_plugins(), *load_plugins()])
    return _default


__all__ = ["builtin_plugins", "default_catalog"]
