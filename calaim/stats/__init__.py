"""Step 2 of the flow, the statistics: estimates, tests of the report's claims, models, and the
registry of published numbers.

``tables`` (shares, means and counts with CIs and suppression) -> ``claims`` (tests of the
report's comparisons, Holm) and ``models`` (logistic models, AMEs, mediation) -> ``findings``
(the registry: every published number recomputed). Pure functions of DataFrames.
"""
