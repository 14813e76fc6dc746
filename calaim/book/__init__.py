"""Step 3 of the flow, the book: what chapters call and how the book is built.

``chapter`` (the per-chapter context: data, policy, registry) -> ``plots`` and ``display``
(house-style figures and copyable tables, each figure with its CSV) -> ``pages`` (generated
reference pages) -> ``build`` (stage, execute with papermill, jupyter-book, ``privacy`` scan,
atomic publish) -> ``check_html`` (the built book in headless Chromium).
"""
