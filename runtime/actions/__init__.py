"""The builtin action plugins and controls."""

from weboter.runtime.catalog import Plugin


def builtin_plugins() -> list[Plugin]:
    from weboter.runtime import controls  # noqa: PLC0415 - keep import cost off the CLI start
    from weboter.runtime.actions import basic, data, elements, export, http, pages  # noqa: PLC0415

    return [
        basic.PLUGIN,
        data.PLUGIN,
        http.PLUGIN,
        pages.PLUGIN,
        elements.PLUGIN,
        export.PLUGIN,
        controls.PLUGIN,
    ]


__all__ = ["builtin_plugins"]
