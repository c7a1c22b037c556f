"""Reports: sections of evidence about synthetic data, as text, dict, JSON and one HTML page.

The report knows nothing about metrics: each metric family (``synthgan.evaluation``, later
privacy, bias, diversity) describes its result as a :class:`Section`, and a :class:`Report`
is an ordered list of them.
"""

from synthgan.report.report import Report, Summary
from synthgan.report.section import Figure, Headline, Section, Table

__all__ = ["Report", "Section", "Headline", "Table", "Figure", "Summary"]
