"""A Sphinx extension the book loads (``_config.yml``: ``sphinx.extra_extensions``).

Sphinx 7.4 lists an inline script that an extension adds after the HTML builder exists (as
sphinx-thebe and sphinx-togglebutton do) twice: once with the file name ``None`` and once with
``''``. The second ``const THEBE_JS_URL = ...`` then throws "Identifier 'THEBE_JS_URL' has already
been declared" in every page's JavaScript console. This extension drops such repeats from each
page's script list; nothing else changes.
"""

from __future__ import annotations


def _key(js) -> tuple:
    return (
        getattr(js, "filename", None) or "",
        getattr(js, "priority", 500),
        tuple(sorted(getattr(js, "attributes", {}).items())),
    )


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, kept = set(), []
    for js in scripts:
        key = _key(js)
        if key not in seen:
            seen.add(key)
            kept.append(js)
    context["script_files"] = kept


def setup(app):
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
