"""Shared test fixtures.

``valid_frame`` is a small respondent-level frame (20 completed interviews by default) that
passes :func:`calaim.data.validate.validate` with no problem at all, warnings included. It is
written by hand from fixed patterns (no randomness) and follows the codebook's skip logic:
every column holds an answer for exactly the respondents its ``asked`` population covers.

It contains the required columns (``resp_id`` 1001.., ``disposition`` = 1, ``familiarity``,
``org_type``, ``role``) and a selection of optional items covering every column kind:

* singles: sample_source, medical_share, credential, specialty (prescribers only),
  work_setting (frontline only), discharge_planner (hospital staff only), fte, legal_type,
  statewide, wpc_hh, ecm_provider, cs_provider, effectiveness, confidence and
  wait_improve (only those not rating processes "very effective");
* grids: served_*, org_impact_* (better/worse, with Unsure and Not applicable answers),
  sso_exp_* (social service organisations only);
* multi-selects: county__* (one county each; one statewide respondent ticks none),
  sso_type__* (org_type 1 only), partner__* (partner sectors plus ``none``), support__*;
* scale and count: satisfaction (0-10), mcp_contracts (ECM / CS providers only).

Tests that need a broken file start from ``valid_frame`` and change one thing. Use
``make_valid_frame(n)`` for another size (patterns repeat).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calaim.data import codebook

NAN = np.nan


def _cycle(pattern, n):
    return [pattern[i % len(pattern)] for i in range(n)]


def _when(pattern, mask):
    """The cycled pattern where ``mask`` is true, missing elsewhere (skip logic)."""
    return [pattern[i % len(pattern)] if m else NAN for i, m in enumerate(mask)]


def make_valid_frame(n: int = 20, cb: codebook.Codebook | None = None) -> pd.DataFrame:
    """A valid frame of ``n`` completed interviews (see the module docstring)."""
    cb = cb or codebook.load()
    org = _cycle([1, 1, 1, 1, 1, 2, 2, 3, 3, 7, 7, 8, 8, 9, 1, 5, 12, 1, 2, 10], n)
    role = _cycle([1, 2, 3, 1, 2, 3, 1, 3, 2, 1, 2, 1, 2, 3, 3, 1, 2, 3, 1, 4], n)
    cred = _cycle([12, 12, 8, 12, 12, 2, 12, 1, 4, 12, 12, 6, 12, 7, 12, 1, 12, 12, 12, 12], n)
    eff = _cycle([1, 2, 3, 2, 9, 4, 2, 3, 1, 2], n)
    ecm = _cycle([1, 2, 2, 1, 2, 1, 2, 2, 9, 1], n)
    cs = _cycle([2, 1, 2, 1, 2, 2, 9, 2, 2, 1], n)
    cols: dict[str, list] = {
        "resp_id": list(range(1001, 1001 + n)),
        "disposition": [1] * n,
        "sample_source": _cycle([1, 2], n),
        "medical_share": _cycle([2, 3, 4, 4, 1, 3], n),
        "familiarity": _cycle([1, 2, 3, 1, 2], n),
        "org_type": org,
        "role": role,
        "credential": cred,
        "specialty": _when([1, 2, 3], [c in (1, 2, 3) for c in cred]),
        "work_setting": _when([1, 3, 2, 4], [r == 3 for r in role]),
        "discharge_planner": _when([1, 2], [o in (3, 4) for o in org]),
        "fte": _cycle([1, 2, 3, 4, 5, 6, 9], n),
        "legal_type": _cycle([2, 2, 1, 3, 9], n),
        "wpc_hh": _cycle([1, 2, 9, 2], n),
        "ecm_provider": ecm,
        "cs_provider": cs,
        "mcp_contracts": [float(1 + i % 4) if (ecm[i] == 1 or cs[i] == 1) else NAN for i in range(n)],
        "effectiveness": eff,
        "confidence": _when([1, 2, 3, 4, 9], [e in (2, 3, 4, 9) for e in eff]),
        "wait_improve": _when([1, 2, 3, 4, 9], [e in (2, 3, 4, 9) for e in eff]),
        "satisfaction": _cycle([0, 3, 5, 7, 8, 10, 6, 4], n),
    }
    better = [1, 2, 3, 4, 5, 8, 97, 2, 1, 3]
    for j, row in enumerate(cb.item("served").parts):
        cols[f"served_{row}"] = _cycle(better[j:] + better[:j], n)
    for j, row in enumerate(cb.item("org_impact").parts):
        cols[f"org_impact_{row}"] = _cycle(better[j + 2 :] + better[: j + 2], n)
    for j, row in enumerate(cb.item("sso_exp").parts):
        cols[f"sso_exp_{row}"] = _when([1, 2, 3, 4, 9][j % 5 :] + [1, 2, 3, 4, 9][: j % 5], [o == 1 for o in org])

    # geography: one county each, cycling through the list; respondent 5 is statewide
    counties = list(cb.counties)
    statewide = [1 if i % 20 == 4 else 2 for i in range(n)]
    for k in counties:
        cols[f"county__{k}"] = [0] * n
    for i in range(n):
        if statewide[i] == 2:
            cols[f"county__{counties[(i * 7) % len(counties)]}"][i] = 1
    cols["statewide"] = statewide

    for j, key in enumerate(cb.item("sso_type").parts):
        cols[f"sso_type__{key}"] = [float((i + j) % 3 == 0) if org[i] == 1 else NAN for i in range(n)]
    sectors = list(cb.option_sets["partner_sectors"])
    for j, key in enumerate(sectors):
        cols[f"partner__{key}"] = [1 if (i % 4 != 3 and (i + j) % 5 == 0) else 0 for i in range(n)]
    cols["partner__none"] = [1 if i % 4 == 3 else 0 for i in range(n)]
    for j, key in enumerate(cb.item("support").parts):
        cols[f"support__{key}"] = [1 if (i + j) % 4 == 0 else 0 for i in range(n)]

    ids = cols.pop("resp_id")
    data = {"resp_id": np.asarray(ids, dtype="int64")}
    data.update({c: np.asarray(v, dtype="float64") for c, v in cols.items()})
    return pd.DataFrame(data)  # one consolidated float block: cheap to modify in tests


@pytest.fixture(scope="session")
def cb() -> codebook.Codebook:
    return codebook.load()


@pytest.fixture(scope="session")
def base(cb) -> pd.DataFrame:
    """The synthetic default as :func:`calaim.data.io.load` reads it (shared: copy before changing it)."""
    from calaim.book import chapter
    from calaim.data import io

    return io.load(chapter.DEFAULT_DATA, cb)


@pytest.fixture
def valid_frame(cb) -> pd.DataFrame:
    """A fresh valid frame of 20 completed interviews (safe to modify in a test)."""
    return make_valid_frame(20, cb)
