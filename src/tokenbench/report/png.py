"""PNG files of the report's charts (matplotlib, no browser needed)."""

from __future__ import annotations

from pathlib import Path

from tokenbench.errors import ConfigError
from tokenbench.report.charts import SuiteSection


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
                style = "--" if s.dash else "-"
                marker = "o" if "markers" in s.mode else None
                linestyle = "none" if s.mode == "markers" else style
                ax.plot(s.x, s.y, linestyle=linestyle, marker=marker, label=s.name)
            if chart.log_x:
                ax.set_xscale("log", base=2)
            ax.set_title(f"{section.suite}: {chart.title}")
            ax.set_xlabel(chart.x_label)
            ax.set_ylabel(chart.y_label)
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
