"""The replay's equity and drawdown chart (PNG), drawn with matplotlib's Agg canvas.

`write_equity_chart(path, samples, title)` draws two stacked axes sharing a UTC time axis: the
equity (top) and the drawdown, equity less its running maximum, shaded below zero (bottom).
`samples` are (ts_ns, equity) pairs in time order, e.g. the portfolio engine's `equity_samples`
(one per second with a valuation, its last equity).

- The drawdown is computed exactly, in Decimal, over every sample; only then is the series thinned
  to at most `max_points` points by a fixed stride (every k-th sample plus the last one), so the
  same samples always give the same points. Decimals become floats here, for plotting only.
- No pyplot: a `Figure` on a `FigureCanvasAgg`, so no global state and no display is needed.
- The PNG is deterministic: the same samples and title give the same bytes (no "Software" or date
  metadata is written; the size and dpi are fixed).
- No samples (nothing was ever valued) still gives a chart, with a note instead of lines.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from domain.numbers import ZERO

MAX_POINTS = 10_000
_NS_PER_S = 1_000_000_000
_SIZE_IN = (10.0, 6.0)
_DPI = 100


def drawdowns(samples: Sequence[tuple[int, Decimal]]) -> list[Decimal]:
    """Each sample's equity less the running maximum of the equity so far (0 or negative)."""
    out: list[Decimal] = []
    peak: Decimal | None = None
    for _ts, equity in samples:
        peak = equity if peak is None or equity > peak else peak
        out.append(equity - peak if equity < peak else ZERO)
    return out


def thin(count: int, max_points: int = MAX_POINTS) -> list[int]:
    """Indices of at most `max_points` of `count` points: every k-th one (fixed k) and the last."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    if count <= max_points:
        return list(range(count))
    stride = math.ceil((count - 1) / (max_points - 1))
    indices = list(range(0, count - 1, stride))
    indices.append(count - 1)
    return indices


def _utc(ts_ns: int) -> datetime:
    seconds, nanos = divmod(ts_ns, _NS_PER_S)
    return datetime.fromtimestamp(seconds, tz=UTC).replace(microsecond=nanos // 1000)


def write_equity_chart(
    path: str | Path,
    samples: Sequence[tuple[int, Decimal]],
    title: str,
    *,
    currency: str = "",
    max_points: int = MAX_POINTS,
) -> Path:
    """Draw equity and drawdown over time to a PNG at `path` (see the module doc); returns the path."""
    path = Path(path)
    unit = f" ({currency})" if currency else ""
    figure = Figure(figsize=_SIZE_IN, dpi=_DPI, layout="constrained")
    FigureCanvasAgg(figure)
    equity_axes, drawdown_axes = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    figure.suptitle(title)
    equity_axes.set_ylabel(f"equity{unit}")
    drawdown_axes.set_ylabel(f"drawdown{unit}")
    drawdown_axes.set_xlabel("time (UTC)")
    for axes in (equity_axes, drawdown_axes):
        axes.grid(visible=True, linewidth=0.5, alpha=0.5)
        axes.ticklabel_format(axis="y", useOffset=False, style="plain")

    if samples:
        drawdown = drawdowns(samples)
        kept = thin(len(samples), max_points)
        times = [_utc(samples[i][0]) for i in kept]
        equity = [float(samples[i][1]) for i in kept]
        down = [float(drawdown[i]) for i in kept]
        marker = "o" if len(kept) == 1 else None
        equity_axes.plot(times, equity, color="tab:blue", linewidth=1.0, marker=marker)
        drawdown_axes.fill_between(times, down, 0.0, color="tab:red", alpha=0.35, linewidth=0)
        drawdown_axes.plot(times, down, color="tab:red", linewidth=0.8, marker=marker)
        if max(down) == min(down) == 0.0:
            drawdown_axes.set_ylim(-1.0, 1.0)  # a flat zero line, not an axis around nothing
        drawdown_axes.xaxis_date(tz=UTC)
        last_equity, worst = samples[-1][1], min(drawdown)
        equity_axes.set_title(
            f"{len(samples)} samples, end {last_equity}{unit}, max drawdown {-worst}{unit}",
            fontsize="small",
            loc="left",
        )
    else:
        equity_axes.text(
            0.5,
            0.5,
            "no valuation: nothing to chart",
            transform=equity_axes.transAxes,
            horizontalalignment="center",
            verticalalignment="center",
        )
    figure.savefig(path, format="png", dpi=_DPI, metadata={"Software": None})
    return path
