"""PNG files of the report's charts (matplotlib, no browser needed)."""

from __future__ import annotations

from pathlib import Path

from tokenbench.errors import ConfigError
from tokenbench.report.charts import SuiteSection

_DASHES = {"solid": "-", "dash": "--", "dot": ":", "dashdot": "-.", "longdash": "--",
           "longdashdot": "-."}  # fmt: skip


def write_pngs(sections: list[SuiteSection], folder: Path) -> list[Path]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--png needs matplotlib: pip install 'tokenbench[png]'") from None
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for section in sections:
        for chart in section.charts:
            fig, ax = plt.subplots(figsize=(9, 5), dpi=110)
            for s in chart.series:
                marker = "o" if "markers" in s.mode else None
                linestyle = "none" if "lines" not in s.mode else _DASHES.get(s.dash, "-")
                label = s.name if s.legend else None
                if s.error_plus is not None:
                    ax.errorbar(s.x, s.y, yerr=[s.error_minus or s.error_plus, s.error_plus],
                                linestyle=linestyle, marker=marker, color=s.colour, capsize=3,
                                label=label)  # fmt: skip
                else:
                    ax.plot(s.x, s.y, linestyle=linestyle, marker=marker, color=s.colour,
                            label=label, linewidth=s.width * 0.75, alpha=s.opacity)  # fmt: skip
                for x, y, text in zip(s.x, s.y, s.text or [], strict=False):
                    if text:
                        ax.annotate(text, (x, y), textcoords="offset points", xytext=(0, -12),
                                    ha="center", fontsize=8, color=s.colour)  # fmt: skip
            if chart.log_x:
                ax.set_xscale("log", base=2)
            elif chart.x_from_zero:
                ax.set_xlim(left=0)
            ax.set_title(f"{section.suite}: {chart.title}")
            ax.set_xlabel(chart.x_label)
            ax.set_ylabel(chart.y_label)
            if chart.y_range is not None:
                ax.set_ylim(*chart.y_range)
            else:
                ax.set_ylim(bottom=0)
            ax.grid(alpha=0.3)
            if chart.series:
                ax.legend(fontsize=8)
            path = folder / f"{chart.chart_id}-{section.suite}.png"
            fig.tight_layout()
            fig.savefig(path)
            plt.close(fig)
            written.append(path)
    return written
