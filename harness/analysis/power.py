"""What run would decide it: variance components of a statistic and the smallest run whose
projected CI excludes a decision boundary.

The statistic. D = (mean over ka seeds of a per-seed metric T of method a) minus (the same for
method b over kb seeds), every T computed on the same n architectures (a single-method statistic
has no b terms). Each seed's T has three sources of error:

    T_as = theta_a + u_as + e_a + f_as,   Var u_as = Sa,  Var e_a ~ Aa/n,  Var f_as ~ Ba/n

u_as: the seed's supernet (what another training seed would change); e_a: which architectures
were sampled, shared by all of a's seeds (they are judged on the same archs); f_as: the
seed-specific part of the arch sampling (how this seed's score errors meet the sampled archs).
The e terms of a and b are correlated (same archs), so only the shared variance of the
difference, A/n = Var(e_a - e_b), is identifiable and needed:

    Var D = A/n + Ba/(n ka) + Bb/(n kb) + Sa/ka + Sb/kb       (+ the pair terms below).

Two estimators of the arch terms at the run's own (n0, ka0, kb0); both take the arch-sampling
covariance of every pair of seed rows (of a and b) and split it per method: w = its mean
variance, c = its mean covariance between two seeds of the method, B/n0 = max(0, w - c), and the
shared A/n0 = max(0, ca + cb - 2 cab) (single method: c); with one seed B = 0 and c = w.
  - estimate_components: the covariance of the arch-bootstrap replicates correlate already
    computes (every seed of both methods on the same resamples). Every arch term falls as 1/n.
    Used for Spearman, Pearson, top-k, and for tau on more than 2,000 archs.
  - pairwise_components, for Kendall tau and tau within conv count (the statistics the verdicts
    read) on up to 2,000 archs: the U-statistic (Hoeffding) decomposition of the pairwise kernel,
    without resampling. At a few dozen archs the bootstrap overstates the variance of these
    (repeated archs are ties and drop out; 1.4x at 60 archs in 7 strata) and their variance falls
    faster than 1/n (24 -> 96 archs: 5.7x, not 4x), so a 1/n projection from the bootstrap
    would overstate what a larger run needs. The U-statistic variance has a 1/n part and a
    pair-level part falling as 1/(n (n - 1)); the *_pair columns hold the latter (0 from the
    bootstrap estimator).
The seed variance: S = max(0, sample variance of the seeds' point values - B(n0)) (the seeds'
spread holds u and f, not e). With one seed S = 0: all of the seed's variance is attributed to
the architectures, so the projection says more seeds do not help (optimistic about seeds: read
projections from runs with at least two seeds). With two or three seeds S is a noisy estimate,
and the floor at 0 biases it upward where it is small next to B(n0) (at 3 seeds and S = B(n0),
by about a quarter): conservative, more seeds look necessary than are.

Checked (tests/test_power.py) on synthetic scores with known variance (truth, arch-level method
effect, per-seed supernet effect, per-seed arch noise): components estimated at 40 archs x 3 seeds
through correlate project the half-width at 160 archs x 6 seeds within ~10% of simulation.

Projection to n archs, ka and kb seeds (`VarianceComponents.variance`):

    V = (n0/n) (arch terms at n0 - their pair parts) + n0 (n0 - 1) / (n (n - 1)) (pair parts)
        + Sa/ka + Sb/kb,    arch terms at n0 = A/n0 + Ba/(n0 ka) + Bb/(n0 kb),

and the projected CI is the normal one, D +- z sqrt(V), at the observed D (the effect is assumed
to stay what it is). `deciding_run` searches architectures n0 x 1, 2, 4, ... (up to a cap, the cap
itself included) and seeds ka0..cap, kb0..cap, and returns the cheapest run under a cost model
whose half-width is below |D - boundary|. No finite-population correction: the projection treats
the archs as a sample from a large space, also when n reaches the space size.

Statistics whose unit is the seed only (a speed-up, a searched architecture's accuracy) have
V(k) = V0 k0 / k per method: `seed_only_components` writes that as components with no arch terms.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Mapping

import numpy as np
from scipy import stats

# The CSV columns correlate writes for the components (NaN on rows without them).
COMPONENT_COLUMNS = ["var_arch", "var_arch_seed", "var_arch_seed_other", "var_seed", "var_seed_other", "seeds_other",
                     "var_arch_pair", "var_arch_seed_pair", "var_arch_seed_other_pair"]
_VARIANCES = [name for name in COMPONENT_COLUMNS if name != "seeds_other"]


@dataclass(frozen=True)
class VarianceComponents:
    """A statistic's variance components at its run's size (n archs, seeds and seeds_other seeds
    of the two methods; seeds_other = 0 for a single-method statistic). Module docstring."""

    n: int
    seeds: int
    seeds_other: int
    var_arch: float
    var_arch_seed: float
    var_arch_seed_other: float
    var_seed: float
    var_seed_other: float
    var_arch_pair: float = 0.0
    var_arch_seed_pair: float = 0.0
    var_arch_seed_other_pair: float = 0.0

    def variance(self, n: float | None = None, seeds: float | None = None,
                 seeds_other: float | None = None) -> float:
        """Projected variance of the statistic at n archs and seeds / seeds_other seeds (each
        defaults to the run's own). Works on numpy arrays of sizes as well (broadcast)."""
        n = self.n if n is None else n
        ka = self.seeds if seeds is None else seeds
        kb = self.seeds_other if seeds_other is None else seeds_other
        pair = self.var_arch_pair + self.var_arch_seed_pair / ka
        arch = self.var_arch + self.var_arch_seed / ka - pair
        seed = self.var_seed / ka
        if self.seeds_other:
            other_pair = self.var_arch_seed_other_pair / kb
            arch = arch + self.var_arch_seed_other / kb - other_pair
            pair = pair + other_pair
            seed = seed + self.var_seed_other / kb
        shrink_pairs = self.n * (self.n - 1) / (n * (n - 1)) if self.n > 1 else 1.0
        return self.n / n * arch + shrink_pairs * pair + seed

    def half_width(self, n: float | None = None, seeds: float | None = None, seeds_other: float | None = None,
                   confidence: float = 0.95) -> float:
        """Normal-approximation CI half-width z sqrt(V) at that size."""
        return z_value(confidence) * np.sqrt(self.variance(n, seeds, seeds_other))

    def columns(self) -> dict[str, float]:
        """The COMPONENT_COLUMNS values of a correlations row."""
        return {name: float(getattr(self, name)) for name in COMPONENT_COLUMNS}

    @property
    def seed_only(self) -> bool:
        """A statistic whose only unit is the seed (seed_only_components): no arch terms."""
        return self.n == 1 and not any(getattr(self, name) for name in _VARIANCES if name.startswith("var_arch"))

    @property
    def defined(self) -> bool:
        return all(math.isfinite(getattr(self, name)) for name in _VARIANCES)

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "VarianceComponents":
        """From a correlations row (columns n, seeds and COMPONENT_COLUMNS)."""
        other = row.get("seeds_other")
        other = 0 if other is None or (isinstance(other, float) and math.isnan(other)) else int(other)
        return cls(n=int(row["n"]), seeds=int(row["seeds"]), seeds_other=other,
                   **{name: float(row.get(name, 0.0)) for name in _VARIANCES})


def z_value(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return float(stats.norm.ppf(0.5 + confidence / 2))


def _products(rows: np.ndarray) -> np.ndarray:
    """(m x m) sums over columns of the products of every two rows, by numpy's own reduction, not
    a BLAS product (whose float sums may depend on the BLAS's threads): the same bytes every run."""
    return np.array([[float((rows[u] * rows[v]).sum()) for v in range(rows.shape[0])] for u in range(rows.shape[0])])


def _snap(cov: np.ndarray) -> np.ndarray:
    """The covariances rounded to 1e-9 of the largest variance (a power-of-two scale, so that
    the grid itself does not move). The seed-specific part w - c can be a small difference of
    two large numbers, which would carry the last-bit noise of its inputs (BLAS threads change
    the last bits of scipy's Pearson r at 15,625 archs) into the 10 digits correlate writes."""
    top = float(np.max(np.abs(np.diag(cov)))) if cov.size else 0.0
    if not np.isfinite(top) or top == 0.0:
        return cov
    scale = 2.0 ** np.floor(np.log2(top))
    return np.round(cov / scale, 9) * scale


def _split(cov: np.ndarray, a: slice, b: slice | None) -> tuple[float, float, float]:
    """(shared, seed-specific of a, of b) of a covariance matrix over seed rows (the arch-sampling
    covariances of every pair of seeds): per method, the mean variance w and mean covariance c of
    two of its seeds give seed-specific w - c; shared is c (single method) or ca + cb - 2 cab (the
    variance of the difference's shared part). With one seed c = w: all of it is shared."""
    cov = _snap(cov)

    def method(rows: slice) -> tuple[float, float]:
        block = cov[rows, rows]
        k = block.shape[0]
        w = float(np.mean(np.diag(block)))
        c = w if k < 2 else float((block.sum() - np.trace(block)) / (k * (k - 1)))
        return w, c

    wa, ca = method(a)
    if b is None:
        return max(0.0, ca), max(0.0, wa - ca), 0.0
    wb, cb = method(b)
    cab = float(np.mean(cov[a, b]))
    return max(0.0, ca + cb - 2 * cab), max(0.0, wa - ca), max(0.0, wb - cb)


def _seed_variances(points: np.ndarray, arch_seed: float) -> float:
    """S = max(0, sample variance of the seeds' point values - their seed-specific arch variance); 0 with one seed."""
    return max(0.0, float(np.var(points, ddof=1)) - arch_seed) if points.size > 1 else 0.0


def estimate_components(replicates: np.ndarray, points: np.ndarray, replicates_other: np.ndarray | None = None,
                        points_other: np.ndarray | None = None, *, n: int) -> VarianceComponents:
    """The components of a seed-mean statistic (or, given the other method's, of the difference)
    on n archs, from the arch-bootstrap replicates of every seed (rows; both methods on the same
    arch resamples: column b is the same resample for both) and the seeds' point values: the
    replicates' covariance matrix over seeds is the arch-sampling covariance (module docstring).
    Every arch term falls as 1/n (no pair terms). Replicates where any seed's metric is undefined
    (NaN) are left out; NaN components when fewer than two are left or a point value is NaN."""
    a = np.atleast_2d(np.asarray(replicates, dtype=float))
    pa = np.asarray(points, dtype=float)
    b = None if replicates_other is None else np.atleast_2d(np.asarray(replicates_other, dtype=float))
    pb = np.asarray([] if points_other is None else points_other, dtype=float)
    ka, kb = a.shape[0], 0 if b is None else b.shape[0]
    rows = a if b is None else np.concatenate([a, b])
    keep = ~np.isnan(rows).any(axis=0)
    if keep.sum() < 2 or np.isnan(pa).any() or np.isnan(pb).any():
        return VarianceComponents(n, ka, kb, *[math.nan] * len(_VARIANCES))
    centred = rows[:, keep] - rows[:, keep].mean(axis=1, keepdims=True)
    cov = _products(centred) / (centred.shape[1] - 1)
    shared, seed_a, seed_b = _split(cov, slice(0, ka), None if b is None else slice(ka, ka + kb))
    return VarianceComponents(n, ka, kb, shared, seed_a, seed_b, _seed_variances(pa, seed_a),
                              _seed_variances(pb, seed_b) if b is not None else 0.0)


def pairwise_components(scores: np.ndarray, truth: np.ndarray, strata: np.ndarray | None = None,
                        scores_other: np.ndarray | None = None, *, block: int = 1_000_000) -> VarianceComponents:
    """The components of the seed-mean Kendall tau-b within strata (every arch in one stratum when
    `strata` is None: plain tau-b) of the seeds' scores (rows) against `truth`, or of the
    difference from `scores_other`'s, estimated without resampling from the U-statistic
    (Hoeffding) decomposition of the pairwise kernel.

    Why not the bootstrap: a bootstrap resample repeats archs, a repeated arch's pairs are ties
    and drop out of tau-b, so at a few dozen archs the bootstrap variance of tau within small
    strata is ~1.4x the sampling variance (60 archs, 7 strata); and the variance of a pairwise
    statistic falls faster than 1/n at such sizes (the pair-level term), so a 1/n projection from
    there overstates a larger run's variance (24 -> 96 archs: the variance falls 5.7x, not 4x).

    The estimator. Per seed row u, tau-b T = S / sqrt(Ux Uy) over same-stratum pairs (S: sum of
    sign products; Ux, Uy: pairs untied in x, y) is linearised (delta method) into a U-statistic
    of degree 2 with kernel k_u(i, j) = [h - T/2 (gx sqrt(Uy/Ux) + gy sqrt(Ux/Uy))] / sqrt(Ux Uy)
    per pair (h = sign product, gx, gy = untied indicators, all 0 across strata; pair sums scaled
    to means). Its covariance between rows u, v at n archs is
        4 z1_uv / n + (2 z2_uv - 4 z1_uv) / (n (n - 1)),
    z1 = Cov(k_u(X, X1), k_v(X, X2)) (pairs sharing one arch), z2 = Cov(k_u, k_v) (the same pair);
    both are estimated unbiasedly from the pair, shared-arch and disjoint-pair means of kernel
    products. The first term is what `var_arch*` holds at 1/n, the second the `*_pair` part.
    The seed rows' covariances are split as in estimate_components. Needs n >= 4 (NaN below) and
    n (n - 1) x seed rows memory in blocks of `block` numbers; O(n^2) time, so the caller uses
    estimate_components on bootstrap replicates for large n, where the pair term is negligible."""
    a = np.atleast_2d(np.asarray(scores, dtype=float))
    b = None if scores_other is None else np.atleast_2d(np.asarray(scores_other, dtype=float))
    x = a if b is None else np.concatenate([a, b])
    y = np.asarray(truth, dtype=float)
    s = np.zeros_like(y) if strata is None else np.asarray(strata, dtype=float)
    m, n = x.shape
    ka, kb = a.shape[0], 0 if b is None else b.shape[0]
    nan = VarianceComponents(n, ka, kb, *[math.nan] * len(_VARIANCES))
    if n < 4 or np.isnan(x).any() or np.isnan(y).any() or np.isnan(s).any():
        return nan
    step = max(1, block // max(1, m * n))

    def kernels(rows: slice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(h, gx) of every seed row (m x b x n) and gy (b x n) of archs `rows` against all archs."""
        same = s[rows, None] == s[None, :]
        sy = np.where(same, np.sign(y[rows, None] - y[None, :]), 0.0)
        sx = np.where(same, np.sign(x[:, rows, None] - x[:, None, :]), 0.0)
        return sx * sy, sx * sx, sy * sy

    concordance, untied_x, untied_y = np.zeros(m), np.zeros(m), 0.0
    for start in range(0, n, step):
        h, gx, gy = kernels(slice(start, start + step))
        concordance += h.sum(axis=(1, 2)) / 2
        untied_x += gx.sum(axis=(1, 2)) / 2
        untied_y += gy.sum() / 2
    if untied_y == 0 or (untied_x == 0).any():
        return nan
    tau = concordance / np.sqrt(untied_x * untied_y)
    pairs = n * (n - 1) / 2
    ux, uy = untied_x / pairs, untied_y / pairs
    scale = 1 / np.sqrt(ux * uy)
    weight_x, weight_y = tau / 2 * np.sqrt(uy / ux), tau / 2 * np.sqrt(ux / uy)

    row_sums, squares = np.zeros((m, n)), np.zeros((m, m))
    for start in range(0, n, step):
        rows = slice(start, start + step)
        h, gx, gy = kernels(rows)
        k = (h - weight_x[:, None, None] * gx - weight_y[:, None, None] * gy[None]) * scale[:, None, None]
        row_sums[:, rows] = k.sum(axis=2)
        squares += _products(k.reshape(m, -1)) / 2  # every unordered pair is in two rows of the full matrix
    totals = row_sums.sum(axis=1) / 2
    shared_arch = _products(row_sums)
    t2 = squares / pairs
    t3 = (shared_arch - 2 * squares) / (n * (n - 1) * (n - 2))
    t4 = (np.outer(totals, totals) + squares - shared_arch) / (n * (n - 1) * (n - 2) * (n - 3) / 4)
    z1, z2 = t3 - t4, t2 - t4
    first = 4 * z1 / n
    pair = (2 * z2 - 4 * z1) / (n * (n - 1))
    a_rows, b_rows = slice(0, ka), None if b is None else slice(ka, ka + kb)
    shared, seed_a, seed_b = _split(first + pair, a_rows, b_rows)
    shared_pair, seed_a_pair, seed_b_pair = _split(pair, a_rows, b_rows)
    shared_pair, seed_a_pair, seed_b_pair = min(shared_pair, shared), min(seed_a_pair, seed_a), min(seed_b_pair, seed_b)
    return VarianceComponents(n, ka, kb, shared, seed_a, seed_b, _seed_variances(tau[:ka], seed_a),
                              _seed_variances(tau[ka:], seed_b) if b is not None else 0.0,
                              shared_pair, seed_a_pair, seed_b_pair)


def seed_only_components(variance: float, seeds: int, variance_other: float | None = None,
                         seeds_other: int = 0) -> VarianceComponents:
    """Components of a statistic whose only unit is the seed, V(k) = V0 k0 / k per method
    (`variance`: the statistic's variance from method a at its `seeds` seeds; likewise b's part).
    Its n is 1 and it has no arch terms: project it with max_archs = 1."""
    return VarianceComponents(1, seeds, seeds_other if variance_other is not None else 0, 0.0, 0.0, 0.0,
                              variance * seeds, 0.0 if variance_other is None else variance_other * seeds_other)


# ------------------------------------------------------------------------------ what decides


@dataclass(frozen=True)
class CostModel:
    """Unit costs measured in the run (in `unit`, e.g. "CPU-s" or "GPU-s"): per architecture of
    ground truth, per seed of each method (training its supernet; 0 for a method without one),
    and per architecture scored by one seed of each method."""

    unit: str
    per_arch: float = 0.0
    per_seed: float = 0.0
    per_seed_other: float = 0.0
    per_scored_arch: float = 0.0
    per_scored_arch_other: float = 0.0

    def cost(self, n: Any, seeds: Any, seeds_other: Any = 0) -> Any:
        """The whole run's cost of these parts at n archs and seeds / seeds_other seeds."""
        return (self.per_arch * n + self.per_seed * seeds + self.per_seed_other * seeds_other
                + self.per_scored_arch * n * seeds + self.per_scored_arch_other * n * seeds_other)


@dataclass(frozen=True)
class DecidingRun:
    """The answer of deciding_run. decided: a run within the caps decides (n, seeds, seeds_other,
    its projected half_width, its cost and the cost added to the current run's); else all of
    those are None and `reason` says why. current_half_width: the projection at the run's size."""

    decided: bool
    reason: str
    current_half_width: float
    n: int | None = None
    seeds: int | None = None
    seeds_other: int | None = None
    half_width: float | None = None
    cost: float | None = None
    added_cost: float | None = None
    unit: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def arch_grid(n0: int, max_archs: int) -> np.ndarray:
    """n0 x 1, 2, 4, ... below max_archs, and max_archs itself (n0 alone if it is not below it)."""
    sizes, n = [], n0
    while n < max_archs:
        sizes.append(n)
        n *= 2
    return np.array(sorted(set(sizes) | {max(n0, max_archs)}), dtype=float)


def deciding_run(value: float, components: VarianceComponents, boundary: float, cost: CostModel, *,
                 max_archs: int, max_seeds: int = 50, confidence: float = 0.95) -> DecidingRun:
    """The cheapest run (archs on arch_grid up to max_archs, seeds from the run's own up to
    max_seeds for each method) whose projected CI, value +- z sqrt(V), excludes `boundary`; ties
    (a cost model that does not price some part) go to the fewer archs, then seeds. The current
    run is a candidate (cost
    added 0). When none decides, `reason` says whether the effect sits at the boundary (no
    sample size decides it) or the caps are too small (with the half-width at the caps)."""
    c = components
    z = z_value(confidence)
    current = float(z * np.sqrt(c.variance())) if c.defined else math.nan
    if not (math.isfinite(value) and c.defined):
        return DecidingRun(False, "no estimate or no variance components: nothing to project", current, unit=cost.unit)
    distance = abs(value - boundary)
    if distance <= 1e-12 * max(1.0, abs(boundary)):
        return DecidingRun(False, f"the observed effect {value:.4g} sits at the boundary {boundary:.4g}: "
                                  "no sample size decides it", current, unit=cost.unit)
    sizes = arch_grid(c.n, max_archs)
    seeds = np.arange(c.seeds, max(c.seeds, max_seeds) + 1, dtype=float)
    others = (np.arange(c.seeds_other, max(c.seeds_other, max_seeds) + 1, dtype=float) if c.seeds_other
              else np.zeros(1))
    n, ka, kb = np.meshgrid(sizes, seeds, others, indexing="ij")
    half = z * np.sqrt(c.variance(n, ka, kb))
    deciding = half < distance
    if not deciding.any():
        widest = (sizes[-1], seeds[-1], others[-1])
        return DecidingRun(False, (
            f"no run within reach decides it: the observed effect {value:.4g} is {distance:.3g} from the "
            f"boundary {boundary:.4g}, but the projected CI half-width at the largest run within the caps "
            f"({_run_text(c, *widest)}) is "
            f"{float(half.min()):.3g}"), current, unit=cost.unit)
    costs = np.asarray(cost.cost(n, ka, kb), dtype=float)
    order = np.lexsort((half[deciding], kb[deciding], ka[deciding], n[deciding], costs[deciding]))
    pick = order[0]
    best = (n[deciding][pick], ka[deciding][pick], kb[deciding][pick])
    total = float(costs[deciding][pick])
    added = total - float(cost.cost(c.n, c.seeds, c.seeds_other))
    return DecidingRun(True, (
        f"{_run_text(c, *best)}: projected CI "
        f"half-width {float(half[deciding][pick]):.3g} < {distance:.3g} (the effect's distance from "
        f"{boundary:.4g})"), current, int(best[0]), int(best[1]), int(best[2]) if c.seeds_other else None,
        float(half[deciding][pick]), total, added, cost.unit)


def _run_text(c: VarianceComponents, n: float, seeds: float, seeds_other: float) -> str:
    """"96 archs, 4 seeds vs 3" (no archs for a seed-only statistic, no "vs" for a single method)."""
    text = f"{int(seeds)} seeds" + (f" vs {int(seeds_other)}" if c.seeds_other else "")
    return text if c.seed_only else f"{int(n)} archs, {text}"
