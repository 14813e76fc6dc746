"""Step 1 of the flow, the data: the codebook, reading files, validating them, deriving variables.

``codebook`` (the questionnaire as data) -> ``io`` (read CSV/Parquet/.sav/.dta into codebook
codes) -> ``validate`` (check against the codebook, every problem at once) -> ``recode``
(sectors, bands, regions, plan models, populations). Everything downstream takes the frame
that :func:`calaim.data.recode.derive` returns.
"""
