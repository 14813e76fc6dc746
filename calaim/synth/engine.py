"""The generic calibration engine of the synthetic generator: fit an item's answer distribution to
every published number about it at once (:func:`fit_tilt`, maximum entropy with a ridge), round
counts per cell by error diffusion (:func:`prepare`) and hand codes out by a latent attitude
(:func:`assign`; :func:`allocate` does both). It knows nothing of CalAIM: targets come in as
:class:`Target` rows.

Place in the flow: registry targets (calaim.synth.targets) -> **engine** -> stages (calaim.synth.stages).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from calaim.synth.priors import DEFAULT_N


# =============================================================================================
# small utilities
# =============================================================================================
def _rng(seed: int, name: str) -> np.random.Generator:
    """An independent, named random stream: adding a step does not shift the others."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def _round_alloc(weights, total: int) -> np.ndarray:
    """Largest-remainder rounding of ``weights`` scaled to sum to ``total`` (ties by position)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact + 1e-9).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


def _scale(count: float, n: int) -> int:
    return int(round(count * n / DEFAULT_N))


def _shuffled(values_counts: dict, rng: np.random.Generator) -> np.ndarray:
    """A shuffled array holding each key ``count`` times (exact allocation)."""
    parts = [np.full(int(c), k) for k, c in values_counts.items() if c > 0]
    arr = np.concatenate(parts) if parts else np.array([])
    rng.shuffle(arr)
    return arr


def _pick(k: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of exactly ``k`` units drawn without replacement with probability
    proportional to ``weights`` (Gumbel top-k)."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    k = int(max(0, min(k, int((w > 0).sum()))))
    out = np.zeros(n, dtype=bool)
    if k == 0:
        return out
    with np.errstate(divide="ignore"):
        key = np.where(w > 0, np.log(w), -np.inf) + rng.gumbel(size=n)
    out[np.argpartition(-key, k - 1)[:k]] = True
    return out


def _dense_ids(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids 0..m-1 of a non-negative int64 key (O(n) through bincount when the key is
    small) and the first row of each id."""
    if len(key) and int(key.max()) < (1 << 24):
        cnt = np.bincount(key)
        uniq = np.flatnonzero(cnt)
        lut = np.zeros(len(cnt), dtype=np.int64)
        lut[uniq] = np.arange(len(uniq))
        ids = lut[key]
    else:
        _, ids = np.unique(key, return_inverse=True)
        ids = ids.reshape(-1)
    first = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int64)
    first[ids[::-1]] = np.arange(len(ids))[::-1]
    return ids, first


def _rank_in_cell(cell: np.ndarray, rng) -> np.ndarray:
    """Random rank of each element among those with the same cell."""
    order = np.lexsort((rng.random(len(cell)), cell))
    sizes = np.bincount(cell)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(len(cell), dtype=np.int64)
    rank[order] = np.arange(len(cell)) - start[cell[order]]
    return rank


# =============================================================================================
# the engine: fit a tilted categorical model to published margins, then allocate
# =============================================================================================
@dataclass
class Target:
    """One published number about one item, in the engine's terms.

    ``mask`` is the group (over the whole frame); ``codes`` the codes counted (share) or None
    (mean); ``exclude`` codes that leave the base; ``value`` a percent (share) or a mean;
    ``cmp`` eq/gt/ge/lt/le; ``scale`` the residual scale (the tolerance); ``source`` the registry
    id, for reporting.
    """

    mask: np.ndarray
    codes: tuple | None
    value: float
    exclude: tuple = ()
    cmp: str = "eq"
    scale: float = 3.0
    source: str = ""
    kind: str = "share"
    count: int | None = None
    _g: int = 0


@dataclass
class Offsets:
    """Fixed log-odds offsets: respondent i gets row ``ids[i]`` of ``table`` (codes along
    columns). -inf forbids a code."""

    ids: np.ndarray
    table: np.ndarray


@dataclass
class Fit:
    theta: np.ndarray
    model: np.ndarray
    targets: list
    cells: int


def _softmax(L: np.ndarray) -> np.ndarray:
    m = np.max(L, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(L - m)
    s = e.sum(axis=1, keepdims=True)
    return e / np.where(s > 0, s, 1.0)


def _cells(G: np.ndarray, off_ids: np.ndarray | None):
    """Unique rows of the group-membership matrix (plus offset id): cell index per
    respondent, the cells' membership rows and sizes."""
    n, g = G.shape
    cols = [G[:, j].astype(np.int64) for j in range(g)]
    if off_ids is not None:
        cols.append(off_ids.astype(np.int64))
    if not cols:
        return np.zeros(n, dtype=np.int64), np.zeros((1, 0), dtype=bool), np.array([n]), np.zeros(1, dtype=np.int64)
    # pack into as few int64 keys as possible
    keys = []
    cur = np.zeros(n, dtype=np.int64)
    bits = 0
    for j, c in enumerate(cols):
        width = 1 if (off_ids is None or j < g) else max(1, int(c.max()).bit_length())
        if bits + width > 62:
            keys.append(cur)
            cur = np.zeros(n, dtype=np.int64)
            bits = 0
        cur = cur | (c << bits)
        bits += width
    keys.append(cur)
    if len(keys) == 1 and (n == 0 or int(keys[0].max()) < (1 << 23)):
        # few distinct small keys: O(n) unique via bincount
        cnt = np.bincount(keys[0])
        uniq = np.flatnonzero(cnt)
        lut = np.zeros(len(cnt), dtype=np.int64)
        lut[uniq] = np.arange(len(uniq))
        inv = lut[keys[0]]
        counts = cnt[uniq]
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv[::-1]] = np.arange(n)[::-1]
    elif len(keys) == 1:
        uniq, inv, counts = np.unique(keys[0], return_inverse=True, return_counts=True)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv[::-1]] = np.arange(n)[::-1]
    else:
        K = np.stack(keys, axis=1)
        uniq, first, inv, counts = np.unique(K, axis=0, return_index=True, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
    Gc = G[first]
    oc = off_ids[first] if off_ids is not None else np.zeros(len(first), dtype=np.int64)
    return inv, Gc, counts, oc


def fit_tilt(q, G, targets, codes, offsets: Offsets | None = None, ridge: float = 0.02, cells=None):
    """Fit one theta per target so that the model margins meet the targets (least squares on
    residuals scaled by each target's tolerance; a small ridge keeps contradictory or
    unidentified targets finite). Works on cells, so its cost does not grow with n."""
    codes = list(codes)
    K = len(codes)
    logq = np.log(np.clip(np.asarray(q, float), 1e-12, None))
    inv, Gc, nc, oc = cells if cells is not None else _cells(G, offsets.ids if offsets is not None else None)
    C = len(nc)
    OFF = offsets.table[oc] if offsets is not None else np.zeros((C, K))
    R = len(targets)
    if R == 0:
        return inv, Gc, nc, oc, Fit(np.zeros(0), np.zeros(0), [], C), _softmax(logq[None, :] + OFF)
    vals = np.array(codes, dtype=float)
    phi = np.zeros((R, K))
    a = np.zeros((R, K))
    b = np.zeros((R, K))
    for r, t in enumerate(targets):
        keep = np.array([c not in t.exclude for c in codes], dtype=float)
        if t.kind == "mean":
            v = vals * keep
            sd = vals[keep > 0].std() or 1.0
            phi[r] = (vals - vals[keep > 0].mean()) / sd * keep
            a[r] = v
        else:
            inS = np.array([c in t.codes for c in codes], dtype=float) * keep
            phi[r] = inS
            a[r] = inS
        b[r] = keep
    W = np.stack([Gc[:, t_g] for t_g in range(Gc.shape[1])], axis=1).astype(float) if Gc.shape[1] else np.zeros((C, 0))
    X = W * nc[:, None]  # cell sizes times membership
    tgt = np.array([t.value / (100.0 if t.kind != "mean" else 1.0) for t in targets])
    scale = np.array([t.scale / (100.0 if t.kind != "mean" else 1.0) for t in targets])
    cmp = [t.cmp for t in targets]
    gidx = np.array([t._g for t in targets])
    Xg = X[:, gidx]
    Wg = W[:, gidx]

    def model(theta):
        L = logq[None, :] + OFF + Wg @ (theta[:, None] * phi)
        P = _softmax(L)
        num = (Xg * (P @ a.T)).sum(axis=0)
        den = (Xg * (P @ b.T)).sum(axis=0)
        return num / np.where(den > 0, den, 1.0)

    def resid(theta):
        m = model(theta)
        d = (m - tgt) / scale
        for r, c in enumerate(cmp):
            if c in ("gt", "ge"):
                d[r] = min(0.0, (m[r] - tgt[r] - (0.01 if c == "gt" else 0.0)) / scale[r])
            elif c in ("lt", "le"):
                d[r] = max(0.0, (m[r] - tgt[r] + (0.01 if c == "lt" else 0.0)) / scale[r])
        return np.concatenate([d, ridge * theta])

    sol = optimize.least_squares(
        resid, np.zeros(R), method="trf", xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=200 * (R + 1)
    )
    theta = sol.x
    P = _softmax(logq[None, :] + OFF + Wg @ (theta[:, None] * phi))
    return inv, Gc, nc, oc, Fit(theta, model(theta), targets, C), P


def _diffuse(P: np.ndarray, nc: np.ndarray, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer counts per cell and code: expected counts rounded by error diffusion along
    ``order`` (largest remainder within a cell, the rounding error carried to the next cell),
    so any run of consecutive cells is within about one respondent of its expectation."""
    C, K = P.shape
    A = np.zeros((C, K), dtype=np.int64)
    carry = rng.uniform(-0.5, 0.5, size=K)
    carry -= carry.mean()
    for c in order:
        n = int(nc[c])
        t = n * P[c] + carry
        t = np.where(P[c] > 0, t, -np.inf)
        base = np.floor(np.clip(t, 0, None)).astype(np.int64)
        base = np.where(P[c] > 0, base, 0)
        diff = n - int(base.sum())
        frac = np.where(P[c] > 0, t - base, -np.inf)
        if diff > 0:
            idx = np.argsort(-frac, kind="stable")[:diff]
            np.add.at(base, idx, 1)
        elif diff < 0:
            cand = np.where(base > 0, frac, np.inf)
            for _ in range(-diff):
                j = int(np.argmin(cand))
                base[j] -= 1
                cand = np.where(base > 0, t - base, np.inf)
        A[c] = base
        carry = np.where(P[c] > 0, t - base, carry)
        carry = np.clip(carry, -2.0, 2.0)
    return A


def _cell_order(Gc: np.ndarray, oc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Processing order of cells: lexicographic by group membership, smallest group most
    significant, so small groups are contiguous; ties broken at random."""
    C = Gc.shape[0]
    if Gc.shape[1] == 0:
        keys = [rng.permutation(C), oc]
        return np.lexsort(keys)
    sizes = Gc.sum(axis=0)
    by_size = np.argsort(sizes, kind="stable")
    keys = [rng.permutation(C), oc] + [~Gc[:, j] for j in by_size[::-1]]
    return np.lexsort(keys)


@dataclass
class Prepared:
    """A fitted item ready to hand out: cell of each respondent (processing rank), integer
    counts per cell and code (slot order: special codes first, then best-first)."""

    cell: np.ndarray
    counts: np.ndarray
    slot_codes: np.ndarray
    n_special: int
    ordinal: bool
    fit: Fit | None
    offset: np.ndarray  # per-cell random phase for spreading the special codes


def prepare(codes, q, G, targets, rng, ordinal=None, special=(), offsets=None, exact=(), cells=None) -> Prepared:
    """Fit the item's tilts and round the expected counts per cell (error diffusion).
    ``cells`` may pass a cached result of :func:`_cells` for the same memberships."""
    codes = list(codes)
    inv, Gc, nc, oc, fit, P = fit_tilt(q, G, targets, codes, offsets, cells=cells)
    C = len(nc)
    order = _cell_order(Gc, oc, rng)
    rank = np.empty(C, dtype=np.int64)
    rank[order] = np.arange(C)
    A = _diffuse(P, nc, order, rng)
    for r in exact:
        _fix_exact(A, P, Gc, nc, codes, targets[r])
    if ordinal is None:
        slot_codes = [c for c in codes if c in special] + [c for c in codes if c not in special]
    else:
        slot_codes = (
            [c for c in codes if c in special]
            + [c for c in ordinal if c not in special]
            + [c for c in codes if c not in special and c not in ordinal]
        )
    col = [codes.index(c) for c in slot_codes]
    n_special = sum(1 for c in slot_codes if c in special)
    return Prepared(
        rank[inv], A[:, col][order], np.asarray(slot_codes), n_special, ordinal is not None, fit, rng.random(C)
    )


def assign(prep: Prepared, z, rng) -> np.ndarray:
    """Hand the counts out within each cell: respondents sorted by ``z`` (best first) take
    the ordinal codes in order; the special codes (unsure, not applicable) go to positions
    spread evenly through the cell, so they are unrelated to ``z``. One sort in all."""
    cell = prep.cell
    n = len(cell)
    C, K = prep.counts.shape
    if n > LARGE:
        return _assign_large(prep, z, rng)
    zz = rng.standard_normal(n) if (z is None or not prep.ordinal) else np.asarray(z, float)
    key = cell + 0.5 - 0.49 * np.tanh(zz / 4.0)
    idx = np.argsort(key, kind="stable")
    sizes = np.bincount(cell, minlength=C)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.empty(n, dtype=np.int64)
    pos[idx] = np.arange(n) - start[cell[idx]]
    s = prep.counts[:, : prep.n_special].sum(axis=1) if prep.n_special else np.zeros(C, dtype=np.int64)
    nc = np.maximum(sizes, 1)
    u = prep.offset
    before = np.floor(pos * s[cell] / nc[cell] + u[cell]).astype(np.int64)
    after = np.floor((pos + 1) * s[cell] / nc[cell] + u[cell]).astype(np.int64)
    special = after > before
    out = np.empty(n, dtype=prep.slot_codes.dtype)
    # ordinal part: rank among the non-special of the cell
    ns_rank = pos - before
    ordc = prep.counts[:, prep.n_special :]
    k_ord = ordc.shape[1]
    if k_ord:
        nsize = ordc.sum(axis=1)
        nstart = np.concatenate([[0], np.cumsum(nsize)[:-1]])
        bounds = (nstart[:, None] + np.cumsum(ordc, axis=1)).reshape(-1)
        j = np.searchsorted(bounds, nstart[cell] + ns_rank, side="right") - cell * k_ord
        out[~special] = prep.slot_codes[prep.n_special :][np.clip(j, 0, k_ord - 1)][~special]
    if prep.n_special:
        spc = prep.counts[:, : prep.n_special]
        sstart = np.concatenate([[0], np.cumsum(s)[:-1]])
        bounds = (sstart[:, None] + np.cumsum(spc, axis=1)).reshape(-1)
        j = np.searchsorted(bounds, sstart[cell] + before, side="right") - cell * prep.n_special
        out[special] = prep.slot_codes[: prep.n_special][np.clip(j, 0, prep.n_special - 1)][special]
    return out


LARGE = 250_000  # above this many respondents, hand out codes by quantiles instead of sorting


def _assign_large(prep: Prepared, z, rng, sub: np.ndarray | None = None) -> np.ndarray:
    """O(n) variant of :func:`assign` for very large populations: special codes go to a random
    share of each cell, the ordinal codes by the respondent's approximate within-cell rank of
    ``z`` (a 128-bin histogram per cell, linear within bins). Counts then match the cell
    targets up to a fraction of a percent, far below sampling error at this size. ``sub``
    (indices) hands out codes to a subset only, with the cells' proportions."""
    cell = prep.cell if sub is None else prep.cell[sub]
    n = len(cell)
    C = prep.counts.shape[0]
    tot = np.maximum(prep.counts.sum(axis=1), 1)
    s = prep.counts[:, : prep.n_special].sum(axis=1) if prep.n_special else np.zeros(C, dtype=np.int64)
    r = rng.random(n)
    special = r < (s / tot)[cell]
    if z is None or not prep.ordinal:
        u = rng.random(n)
    else:
        zz = np.asarray(z, float) if sub is None else np.asarray(z, float)[sub]
        B = 128
        lo, hi = float(np.min(zz)), float(np.max(zz)) + 1e-9
        pos = (zz - lo) / (hi - lo) * B
        b = np.minimum(pos.astype(np.int64), B - 1)
        key = cell * B + b
        hist = np.bincount(key, minlength=C * B).astype(float)
        below = (np.cumsum(hist.reshape(C, B), axis=1) - hist.reshape(C, B)).reshape(-1)
        sizes = np.maximum(np.bincount(cell, minlength=C), 1)
        u = 1.0 - (below[key] + (pos - b) * hist[key]) / sizes[cell]  # best first
    out = np.empty(n, dtype=prep.slot_codes.dtype)

    def pick(counts: np.ndarray, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        k = counts.shape[1]
        cum = np.cumsum(counts, axis=1) / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        bounds = (np.arange(C)[:, None] * 2.0 + cum).reshape(-1)  # cells 2 apart keep bounds sorted
        j = np.searchsorted(bounds, cell * 2.0 + np.minimum(x, 1 - 1e-12), side="right") - cell * k
        return codes[np.clip(j, 0, k - 1)]

    k_ord = prep.counts.shape[1] - prep.n_special
    if k_ord:
        out[:] = pick(prep.counts[:, prep.n_special :].astype(float), u, prep.slot_codes[prep.n_special :])
    if prep.n_special:
        x = r / np.maximum((s / tot)[cell], 1e-12)
        sp = pick(prep.counts[:, : prep.n_special].astype(float), x, prep.slot_codes[: prep.n_special])
        out[special] = sp[special]
    return out


def allocate(codes, q, G, targets, rng, z=None, ordinal=None, special=(), offsets=None, exact=(), cells=None):
    """:func:`prepare` then :func:`assign`: returns (codes per respondent, Fit)."""
    if G.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), None
    prep = prepare(codes, q, G, targets, rng, ordinal, special, offsets, exact, cells)
    return assign(prep, z, rng), prep.fit


def _fix_exact(A, P, Gc, nc, codes, t: Target) -> None:
    """Move single respondents between codes so that a count target is met exactly."""
    g = t._g
    inS = np.array([c in t.codes for c in codes])
    keep = np.array([c not in t.exclude for c in codes])
    cells = np.flatnonzero(Gc[:, g])
    if len(cells) == 0:
        return
    want = int(t.count) if t.count is not None else int(round(t.value / 100.0 * A[cells][:, keep].sum()))
    for _ in range(1000):
        have = int(A[cells][:, inS & keep].sum())
        if have == want:
            return
        up = have < want
        # the cell whose realised count is furthest from its expectation in the needed direction
        exp_in = (nc[cells][:, None] * P[cells])[:, inS & keep].sum(axis=1)
        got_in = A[cells][:, inS & keep].sum(axis=1)
        gap = (exp_in - got_in) if up else (got_in - exp_in)
        src_ok = (A[cells][:, (~inS) & keep].sum(axis=1) > 0) if up else (got_in > 0)
        gap = np.where(src_ok, gap, -np.inf)
        if not np.isfinite(gap).any():
            return
        c = cells[int(np.argmax(gap))]
        frm = np.flatnonzero(((~inS) & keep) if up else (inS & keep))
        to = np.flatnonzero((inS & keep) if up else ((~inS) & keep))
        frm = frm[A[c, frm] > 0]
        if len(frm) == 0 or len(to) == 0:
            return
        j = frm[np.argmax(A[c, frm] - nc[c] * P[c, frm])]
        k = to[np.argmax(nc[c] * P[c, to] - A[c, to])]
        A[c, j] -= 1
        A[c, k] += 1


# ----------------------------------------------------------------------------- stages
def _offsets_from_covariates(
    codes: list,
    covs: dict[str, np.ndarray],
    effects: dict[str, float],
    target_codes,
    extra: list[tuple[np.ndarray, dict]] = (),
) -> Offsets:
    """Offsets sum(log OR * x) on ``target_codes`` (covariates 0/1, NaN -> 0), plus forced
    ({code: inf}) or forbidden ({code: -inf}) codes for the masks in ``extra``. One table row
    per covariate pattern."""
    names = list(covs)
    n = len(next(iter(covs.values()))) if covs else len(extra[0][0])
    key = np.zeros(n, dtype=np.int64)
    for j, k in enumerate(names):
        key |= (np.nan_to_num(covs[k]) != 0).astype(np.int64) << j
    for j, (mask, _) in enumerate(extra):
        key |= mask.astype(np.int64) << (len(names) + j)
    cnt = np.bincount(key)
    uniq = np.flatnonzero(cnt)
    lut = np.zeros(len(cnt), dtype=np.int64)
    lut[uniq] = np.arange(len(uniq))
    ids = lut[key]
    K = len(codes)
    table = np.zeros((len(uniq), K))
    tc = [codes.index(c) for c in target_codes]
    for u, bits in enumerate(uniq):
        lin = sum(math.log(effects.get(k, 1.0)) for j, k in enumerate(names) if bits >> j & 1)
        table[u, tc] += lin
        for j, (_, piece) in enumerate(extra):
            if bits >> (len(names) + j) & 1:
                for c, val in piece.items():
                    if val == np.inf:
                        keep = table[u, codes.index(c)]
                        table[u, :] = -np.inf
                        table[u, codes.index(c)] = keep if np.isfinite(keep) else 0.0
                    else:
                        table[u, codes.index(c)] += val
    return Offsets(ids, table)
