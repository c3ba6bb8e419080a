"""Streaming summaries of a Monte Carlo run too large to keep: memory independent of N.

With ``keep="summary"`` a run keeps, chunk by chunk, only what the fan chart
and the risk report need:

* **exact** integer counts: draws in deficit each year and in any year, draws
  with a negative reserve each year and in any year;
* **exact-to-rounding** sums: of the balance, premium revenue and their
  squares, of the deficit and of the deficit as a share of revenue over the
  draws in deficit. Each chunk's sums are added into exact rationals
  (:class:`fractions.Fraction`; a float is a dyadic rational), so the result is
  the correctly rounded sum of the chunk sums *whatever order the chunks arrive
  in* -- a resumed or distributed run gives the same numbers as a serial one
  with the same chunk size (another chunk size moves the sums in their last bits);
* **approximate** quantiles and expected shortfalls, from log-spaced
  histograms (the logarithmic mapping of DDSketch: Masson, Rim & Lee 2019,
  "DDSketch: a fast and fully-mergeable quantile sketch with relative-error
  guarantees", PVLDB 12(12)). Bucket ``i`` holds the values in
  ``(gamma^(i-1), gamma^i]`` (mirrored for negatives) with
  ``gamma = (1 + alpha) / (1 - alpha)``, and answers with
  ``2 gamma^i / (gamma + 1)``, which lies within a relative ``alpha`` of every
  value in the bucket.

Error bound (``alpha`` = :attr:`LogBins.relative_accuracy`, default 0.001)
-----------------------------------------------------------------------------
For the empirical quantile by the inverted CDF, ``Q(q) = x_(ceil(q n))`` (what
:func:`~schemerisk.analysis.risk.required_multiplier` uses and
``numpy.quantile(..., method="inverted_cdf")`` returns)::

    |Q_sketch(q) - Q(q)| <= alpha |Q(q)|            for smallest < |Q(q)| <= largest
    |Q_sketch(q) - Q(q)| <= smallest                 for |Q(q)| <= smallest (1e-12)

and a value beyond ``largest`` (1e30) is answered as +-inf. Expected
shortfalls of non-negative losses (the mean of the worst ``(1 - level) n``
draws, as :func:`~schemerisk.analysis.risk.expected_shortfall`) take every
value from its bucket's answer, so ``|ES_sketch - ES| <= alpha ES`` (plus
``smallest``). The bound is deterministic (no randomisation), and because
buckets are integer counts the sketch merges exactly: any chunking and any
order give the same histogram.

Why not a library: ``ddsketch`` (the reference Python DDSketch) adds values one
at a time in pure Python, about 10^3 times too slow for 10^9 values; the
KLL sketch of ``datasketches`` is randomised and its merge depends on order, so
a resumed run would not reproduce an uninterrupted one. The mapping here is
the DDSketch one, vectorised with numpy (``np.bincount``), in fixed bins.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import xarray as xr

from schemerisk.analysis.risk import RISK_OUTPUTS
from schemerisk.uncertainty.nonfinite import count_nonfinite, horizon_counts

#: the fan-chart bands kept by a summary run
FAN_QUANTILES: tuple[float, ...] = (0.05, 0.20, 0.35, 0.50, 0.65, 0.80, 0.95)
#: kernel outputs a summary needs from each chunk: those the risk report reads
SUMMARY_OUTPUTS: tuple[str, ...] = RISK_OUTPUTS
#: the exact per-year sums, in this order
MOMENTS: tuple[str, ...] = (
    "balance_sum",
    "balance_sum_squares",
    "premium_revenue_sum",
    "premium_revenue_sum_squares",
    "deficit_sum",
    "deficit_share_sum",
)
#: the exact per-year counts, in this order
COUNTS: tuple[str, ...] = ("n_deficit", "n_reserve_negative")
#: the exact counts over the horizon, in this order (``_unknown``: draws left out of the one before)
HORIZON_COUNTS: tuple[str, ...] = (
    "n_any_deficit",
    "n_ruin",
    "n_any_deficit_unknown",
    "n_ruin_unknown",
)
#: the sketched quantities
SKETCHES: tuple[str, ...] = ("balance", "deficit_share", "break_even_multiplier")


@dataclass(frozen=True)
class LogBins:
    """Fixed log-spaced bins for signed values: the DDSketch logarithmic mapping.

    Attributes
    ----------
    relative_accuracy : float
        ``alpha``: every answer lies within a relative ``alpha`` of the values
        in its bucket.
    smallest : float
        Values with ``|x| <= smallest`` share one bucket answered with 0.
    largest : float
        Values with ``|x| > largest`` (and infinities) are answered with +-inf.
    """

    relative_accuracy: float = 1e-3
    smallest: float = 1e-12
    largest: float = 1e30

    def __post_init__(self) -> None:
        if not 0.0 < self.relative_accuracy < 0.5:
            raise ValueError(f"relative_accuracy must be in (0, 0.5), got {self.relative_accuracy}")
        if not 0.0 < self.smallest < self.largest:
            raise ValueError("need 0 < smallest < largest")

    @property
    def gamma(self) -> float:
        """Ratio of consecutive bucket bounds, ``(1 + alpha) / (1 - alpha)``."""
        a = self.relative_accuracy
        return (1.0 + a) / (1.0 - a)

    @property
    def _i_min(self) -> int:
        return math.ceil(math.log(self.smallest) / math.log(self.gamma))

    @property
    def _m(self) -> int:
        lg = math.log(self.gamma)
        return math.ceil(math.log(self.largest) / lg) - self._i_min + 1

    @property
    def n_bins(self) -> int:
        """Number of bins: negative overflow, m negative, zero, m positive, positive overflow, NaN."""
        return 2 * self._m + 4

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin of every value (int64, same shape), in increasing order of value; NaN last.

        Parameters
        ----------
        x : numpy.ndarray
            Values.

        Returns
        -------
        numpy.ndarray
            Bin positions in ``[0, n_bins)``.
        """
        m = self._m
        a = np.abs(x)
        safe = np.clip(np.nan_to_num(a, nan=self.smallest), self.smallest, self.largest)
        j = np.ceil(np.log(safe) / math.log(self.gamma)) - self._i_min
        j = np.clip(j, 0, m - 1).astype(np.int64)
        pos = np.where(x > 0, m + 2 + j, m - j)
        pos[a <= self.smallest] = m + 1
        pos[(a > self.largest) & (x < 0)] = 0
        pos[(a > self.largest) & (x > 0)] = 2 * m + 2
        pos[np.isnan(x)] = 2 * m + 3
        return pos

    def values(self) -> np.ndarray:
        """The answer of every bin (NaN for the last, the NaN bin)."""
        m = self._m
        i = self._i_min + np.arange(m)
        g = self.gamma
        pos = 2.0 * np.power(g, i.astype(np.float64)) / (g + 1.0)
        return np.concatenate([[-np.inf], -pos[::-1], [0.0], pos, [np.inf, np.nan]])

    def histogram(self, x: np.ndarray) -> np.ndarray:
        """Counts per (row, bin) of a 2-D array of values (rows = years).

        Parameters
        ----------
        x : numpy.ndarray
            Shape (draws, years).

        Returns
        -------
        numpy.ndarray
            int64, shape (years, n_bins).
        """
        nb = self.n_bins
        years = x.shape[1]
        flat = (self.index(x) + np.arange(years, dtype=np.int64) * nb).ravel()
        return np.bincount(flat, minlength=years * nb).reshape(years, nb).astype(np.int64)


def sketch_quantile(counts: np.ndarray, values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Quantiles of sketched data by the inverted empirical CDF, ``x_(ceil(q n))``; NaNs skipped.

    Parameters
    ----------
    counts : numpy.ndarray
        Counts per (year, bin).
    values : numpy.ndarray
        The answer of every bin (:meth:`LogBins.values`).
    q : numpy.ndarray
        Probabilities in [0, 1].

    Returns
    -------
    numpy.ndarray
        Shape (len(q), years); within the bound of the module docstring.
    """
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    c = counts[:, :-1]
    cum = np.cumsum(c, axis=1)
    n = cum[:, -1]
    out = np.full((q.size, c.shape[0]), np.nan)
    for yi in range(c.shape[0]):
        if n[yi] == 0:
            continue
        k = np.maximum(np.ceil(n[yi] * q - 1.0), 0.0) + 1.0  # 1-based rank, as numpy's inverted_cdf
        out[:, yi] = values[np.searchsorted(cum[yi], k, side="left")]
    return out


def sketch_tail_mean(
    counts_desc: np.ndarray, values_desc: np.ndarray, n: np.ndarray, level: float
) -> np.ndarray:
    """Mean of the largest ``(1 - level) n`` values (expected shortfall), bins in decreasing order.

    The boundary bin is weighted so that exactly ``(1 - level) n`` draws count
    (Acerbi & Tasche 2002), as :func:`~schemerisk.analysis.risk.expected_shortfall`.

    Parameters
    ----------
    counts_desc : numpy.ndarray
        Counts per (year, bin), bins ordered from the largest value down.
    values_desc : numpy.ndarray
        Answers of the bins, same order.
    n : numpy.ndarray
        Number of draws per year.
    level : float
        Confidence level (0.95 averages the worst 5 %).

    Returns
    -------
    numpy.ndarray
        One value per year.
    """
    tail = (1.0 - level) * n.astype(np.float64)
    before = np.cumsum(counts_desc, axis=1) - counts_desc
    weight = np.clip(tail[:, None] - before, 0.0, counts_desc)
    with np.errstate(invalid="ignore"):
        terms = np.where(weight > 0, weight * values_desc[None, :], 0.0)
    return terms.sum(axis=1) / tail


@dataclass
class ChunkSummary:
    """What one chunk adds to a summary (small: sparse histograms, sums and counts).

    Attributes
    ----------
    n : int
        Draws in the chunk.
    sketches : dict
        Sketch name -> (flat bin index, count) of its non-empty (year, bin) cells.
    moments : numpy.ndarray
        Per-year sums, shape (len(MOMENTS), years).
    counts : numpy.ndarray
        Per-year counts, shape (len(COUNTS), years).
    horizon_counts : numpy.ndarray
        Counts over the horizon, shape (len(HORIZON_COUNTS),).
    nonfinite : numpy.ndarray
        Draws with a non-finite value of each of :data:`SUMMARY_OUTPUTS`, shape
        (outputs, years) (:func:`~schemerisk.uncertainty.nonfinite.count_nonfinite`).
    """

    n: int
    sketches: dict[str, tuple[np.ndarray, np.ndarray]]
    moments: np.ndarray
    counts: np.ndarray
    horizon_counts: np.ndarray
    nonfinite: np.ndarray


def summarise_chunk(chunk: xr.Dataset, bins: LogBins, adjust: str = "all-premiums") -> ChunkSummary:
    """Summarise the outputs of one chunk of draws.

    Parameters
    ----------
    chunk : xarray.Dataset
        The chunk's :data:`SUMMARY_OUTPUTS`, dims (draw, year).
    bins : LogBins
        The sketch bins.
    adjust : str
        Which premiums the break-even multiplier scales (see
        :class:`~schemerisk.analysis.solver.Adjust`).

    Returns
    -------
    ChunkSummary
        The chunk's contribution.
    """
    # the one formula of the break-even multiplier lives in the solver
    from schemerisk.analysis.solver import Adjust, equilibrium_multiplier

    nonfinite = np.stack(
        [count_nonfinite(chunk[v].transpose("draw", "year").values) for v in SUMMARY_OUTPUTS]
    )
    # a draw-year without a finite balance is unknown: left out of every statistic of that year
    # (NaN goes to the sketches' NaN bin, zero into the sums), as in deficit_risk
    known = np.isfinite(chunk["balance"].transpose("draw", "year").values)
    bal = np.where(known, chunk["balance"].transpose("draw", "year").values, np.nan)
    rev = np.where(known, chunk["premium_revenue"].transpose("draw", "year").values, 0.0)
    reserve = chunk["reserve"].transpose("draw", "year").values
    known_reserve = np.isfinite(reserve)
    k = equilibrium_multiplier(chunk, Adjust(adjust)).transpose("draw", "year").values
    # as required_multiplier: unbalanceable draws need +inf, unknown ones are left out
    k = np.where(known, np.where(np.isnan(k), np.inf, k), np.nan)
    deficit = (bal < 0) & known
    negative = (reserve < 0) & known_reserve
    loss = np.where(known, np.clip(-bal, 0.0, None), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(
            rev != 0, loss / np.where(rev != 0, rev, 1.0), np.where(loss > 0, np.inf, 0.0)
        )
    share = np.where(known, share, np.nan)
    bal0 = np.where(known, bal, 0.0)
    with np.errstate(over="ignore"):  # a finite balance near 1e308 squares to inf: kept as inf
        moments = np.stack(
            [
                bal0.sum(axis=0),
                (bal0 * bal0).sum(axis=0),
                rev.sum(axis=0),
                (rev * rev).sum(axis=0),
                np.where(deficit, loss, 0.0).sum(axis=0),
                np.where(deficit, share, 0.0).sum(axis=0),
            ]
        )
    counts = np.stack([deficit.sum(axis=0), negative.sum(axis=0)]).astype(np.int64)
    n_any, n_any_unknown = horizon_counts(deficit, known)
    n_ruin, n_ruin_unknown = horizon_counts(negative, known_reserve)
    horizon = np.array([n_any, n_ruin, n_any_unknown, n_ruin_unknown], np.int64)
    sketches = {}
    for name, x in (("balance", bal), ("deficit_share", share), ("break_even_multiplier", k)):
        h = bins.histogram(x).ravel()
        nz = np.flatnonzero(h)
        sketches[name] = (nz, h[nz])
    return ChunkSummary(bal.shape[0], sketches, moments, counts, horizon, nonfinite)


@dataclass
class StreamingSummary:
    """The running summary of a run: merge :class:`ChunkSummary` objects in any order.

    Memory: three (years x bins) int64 histograms (about 0.8 MB per year at
    the default accuracy) and a few exact sums per year, whatever the number of draws.

    Attributes
    ----------
    n_years : int
        Years per draw.
    bins : LogBins
        The sketch bins.
    """

    n_years: int
    bins: LogBins = field(default_factory=LogBins)
    n: int = 0
    sketches: dict[str, np.ndarray] = field(default_factory=dict)
    #: exact sums; a sum that overflowed (a chunk's sum is inf or NaN) stays a float inf or NaN
    moments: list[list[Fraction | float]] = field(default_factory=list)
    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    horizon_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    nonfinite: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        if not self.sketches:
            self.sketches = {
                s: np.zeros((self.n_years, self.bins.n_bins), np.int64) for s in SKETCHES
            }
        if not self.moments:
            self.moments = [[Fraction(0)] * self.n_years for _ in MOMENTS]
        if self.counts.size == 0:
            self.counts = np.zeros((len(COUNTS), self.n_years), np.int64)
        if self.horizon_counts.size < len(HORIZON_COUNTS):  # a state saved before unknowns
            self.horizon_counts = np.concatenate(
                [self.horizon_counts, np.zeros(len(HORIZON_COUNTS), np.int64)]
            )[: len(HORIZON_COUNTS)].astype(np.int64)
        if self.nonfinite.size == 0:
            self.nonfinite = np.zeros((len(SUMMARY_OUTPUTS), self.n_years), np.int64)

    def add(self, chunk: ChunkSummary) -> None:
        """Merge one chunk's summary (exact: the order of chunks does not matter)."""
        self.n += chunk.n
        for name, (idx, cnt) in chunk.sketches.items():
            self.sketches[name].reshape(-1)[idx] += cnt
        for i, row in enumerate(chunk.moments):
            for t, v in enumerate(row):
                x = float(v)  # Fraction + float is a float: once inf or NaN, the sum stays so
                self.moments[i][t] += Fraction(x) if math.isfinite(x) else x
        self.counts += chunk.counts
        self.horizon_counts += chunk.horizon_counts
        self.nonfinite += chunk.nonfinite

    def state(self) -> dict[str, np.ndarray]:
        """Everything needed to carry on later, as named arrays (for ``numpy.savez``)."""
        exact = json.dumps(
            [
                [
                    f"{f.numerator}/{f.denominator}" if isinstance(f, Fraction) else repr(f)
                    for f in row
                ]
                for row in self.moments
            ]
        )
        out = {f"sketch_{k}": v for k, v in self.sketches.items()}
        out.update(
            n=np.array(self.n),
            n_years=np.array(self.n_years),
            bins=np.array([self.bins.relative_accuracy, self.bins.smallest, self.bins.largest]),
            moments=np.array(exact),
            counts=self.counts,
            horizon_counts=self.horizon_counts,
            nonfinite=self.nonfinite,
        )
        return out

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray]) -> StreamingSummary:
        """Rebuild a summary from :meth:`state`."""
        a, lo, hi = (float(v) for v in state["bins"])
        moments: list[list[Fraction | float]] = [
            [Fraction(s) if "/" in s else float(s) for s in row]
            for row in json.loads(str(state["moments"]))
        ]
        return cls(
            n_years=int(state["n_years"]),
            bins=LogBins(a, lo, hi),
            n=int(state["n"]),
            sketches={k: np.array(state[f"sketch_{k}"]) for k in SKETCHES},
            moments=moments,
            counts=np.array(state["counts"]),
            horizon_counts=np.array(state["horizon_counts"]),
            nonfinite=np.array(state["nonfinite"]) if "nonfinite" in state else np.zeros(0, int),
        )

    def to_dataset(
        self,
        years: np.ndarray,
        *,
        level: float = 0.05,
        shortfall_level: float = 0.95,
        currency: str = "",
    ) -> xr.Dataset:
        """The summary as a Dataset by year: fan-chart bands, risk statistics, sums and sketches.

        Parameters
        ----------
        years : numpy.ndarray
            The ``year`` coordinate.
        level : float
            Target probability of deficit for the required premium multiplier.
        shortfall_level : float
            Level of the expected shortfalls.
        currency : str
            Currency of the amounts (for units).

        Returns
        -------
        xarray.Dataset
            ``balance_quantile`` (quantile, year), ``p_deficit``, ``expected_deficit``,
            ``expected_deficit_share``, ``expected_shortfall``, ``expected_shortfall_share``,
            ``required_premium_multiplier``, ``p_reserve_negative``, means and standard
            deviations, the exact counts and sums, and the sketches themselves.
        """
        n = self.n
        yr = ("year",)
        cur = f"{currency}/yr" if currency else ""
        values = self.bins.values()
        sums = {
            name: np.array([float(f) for f in row])
            for name, row in zip(MOMENTS, self.moments, strict=True)
        }
        counts = dict(zip(COUNTS, self.counts, strict=True))
        n_def = counts["n_deficit"]
        # draws with a finite balance (reserve) each year: the others are unknown, left out
        nonfinite = dict(zip(SUMMARY_OUTPUTS, self.nonfinite, strict=True))
        known = n - nonfinite["balance"]
        known_reserve = n - nonfinite["reserve"]
        valid = self.sketches["balance"][:, :-1].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            bal_mean = sums["balance_sum"] / known
            rev_mean = sums["premium_revenue_sum"] / known
            bal_var = np.where(
                known > 1, (sums["balance_sum_squares"] - known * bal_mean**2) / (known - 1), np.nan
            )
            rev_var = np.where(
                known > 1,
                (sums["premium_revenue_sum_squares"] - known * rev_mean**2) / (known - 1),
                np.nan,
            )
            # over all draws, a surplus counting as zero (analysis.risk.DEFICIT_SIZES)
            exp_def = sums["deficit_sum"] / n
            exp_share = sums["deficit_share_sum"] / n
        bal_sk = self.sketches["balance"][:, :-1]
        loss_values = np.maximum(-values[:-1], 0.0)  # ascending balance = descending loss
        es = sketch_tail_mean(bal_sk, loss_values, valid, shortfall_level)
        share_sk = self.sketches["deficit_share"][:, :-1][:, ::-1]
        es_share = sketch_tail_mean(share_sk, values[:-1][::-1], valid, shortfall_level)
        fan = sketch_quantile(self.sketches["balance"], values, np.array(FAN_QUANTILES))
        k = sketch_quantile(
            self.sketches["break_even_multiplier"], values, np.array([1.0 - level])
        )[0]
        hc = dict(zip(HORIZON_COUNTS, self.horizon_counts, strict=True))
        a = self.bins.relative_accuracy
        approx = f"approximate: within a relative {a:g} (log-bucket sketch, schemerisk.uncertainty.summary)"
        data = {
            "balance_quantile": xr.Variable(
                ("quantile", "year"),
                fan,
                {
                    "long_name": "Quantiles of the balance (fan-chart bands)",
                    "units": cur,
                    "accuracy": approx,
                },
            ),
            "balance_mean": xr.Variable(yr, bal_mean, {"long_name": "Mean balance", "units": cur}),
            "balance_std": xr.Variable(
                yr,
                np.sqrt(bal_var),
                {"long_name": "Standard deviation of the balance", "units": cur},
            ),
            "premium_revenue_mean": xr.Variable(
                yr, rev_mean, {"long_name": "Mean premium revenue", "units": cur}
            ),
            "premium_revenue_std": xr.Variable(
                yr,
                np.sqrt(rev_var),
                {"long_name": "Standard deviation of premium revenue", "units": cur},
            ),
            "p_deficit": xr.Variable(
                yr,
                np.where(known > 0, n_def / np.maximum(known, 1), np.nan),
                {
                    "long_name": "Probability of a deficit, among the draws with a finite balance",
                    "units": "1",
                },
            ),
            "n_nonfinite": xr.Variable(
                ("output", "year"),
                self.nonfinite,
                {
                    "long_name": "Exact count: draws with a non-finite value (overflow or 0/0)",
                    "units": "draws",
                },
            ),
            "expected_deficit": xr.Variable(
                yr,
                exp_def,
                {
                    "long_name": "Expected deficit: the mean deficit over all projections, a "
                    "surplus counting as zero deficit",
                    "units": cur,
                },
            ),
            "expected_deficit_share": xr.Variable(
                yr,
                exp_share,
                {
                    "long_name": "Expected deficit as a share of premium revenue, over all projections",
                    "units": "1",
                },
            ),
            "expected_shortfall": xr.Variable(
                yr,
                es,
                {
                    "long_name": f"Expected shortfall ({shortfall_level:.0%}): mean of the worst deficits",
                    "units": cur,
                    "accuracy": approx,
                },
            ),
            "expected_shortfall_share": xr.Variable(
                yr,
                es_share,
                {
                    "long_name": f"Expected shortfall ({shortfall_level:.0%}) as a share of revenue",
                    "units": "1",
                    "accuracy": approx,
                },
            ),
            "required_premium_multiplier": xr.Variable(
                yr,
                k,
                {
                    "long_name": f"Premium multiplier that keeps P(deficit) <= {level:g}",
                    "units": "1",
                    "level": level,
                    "accuracy": approx,
                },
            ),
            "p_reserve_negative": xr.Variable(
                yr,
                np.where(
                    known_reserve > 0,
                    counts["n_reserve_negative"] / np.maximum(known_reserve, 1),
                    np.nan,
                ),
                {"long_name": "Probability that the reserve is negative", "units": "1"},
            ),
            "p_any_deficit": xr.Variable(
                (),
                _ratio(hc["n_any_deficit"], n - hc["n_any_deficit_unknown"]),
                {"long_name": "Probability of at least one deficit over the horizon", "units": "1"},
            ),
            "p_ruin": xr.Variable(
                (),
                _ratio(hc["n_ruin"], n - hc["n_ruin_unknown"]),
                {
                    "long_name": "Probability that the reserve falls below zero in some year",
                    "units": "1",
                },
            ),
        }
        for name in COUNTS:
            data[name] = xr.Variable(
                yr, counts[name], {"long_name": f"Exact count: {name}", "units": "draws"}
            )
        for name in HORIZON_COUNTS:
            data[name] = xr.Variable(
                (), hc[name], {"long_name": f"Exact count: {name}", "units": "draws"}
            )
        for name in MOMENTS:
            data[name] = xr.Variable(yr, sums[name], {"long_name": f"Sum over draws: {name}"})
        for name in SKETCHES:
            data[f"sketch_{name}"] = xr.Variable(
                ("year", "bin"),
                self.sketches[name],
                {"long_name": f"Log-bucket histogram of {name}"},
            )
        ds = xr.Dataset(
            data,
            coords={
                "year": ("year", np.asarray(years)),
                "quantile": ("quantile", np.array(FAN_QUANTILES)),
                "output": ("output", list(SUMMARY_OUTPUTS)),
                "bin_value": ("bin", values, {"long_name": "Value answered for the bin"}),
            },
        )
        ds.attrs.update(
            n_draws=n,
            summary_relative_accuracy=a,
            summary_smallest=self.bins.smallest,
            summary_largest=self.bins.largest,
            required_premium_multiplier_level=level,
            shortfall_level=shortfall_level,
        )
        return ds


def _ratio(count: int, n: int) -> float:
    """A probability from counts; NaN when no draw's answer is known."""
    return count / n if n > 0 else float("nan")
