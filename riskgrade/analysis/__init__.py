"""Analysis stage: regional and industry risk analysis (区域性、行业性风险研判) and the monthly report
(月度报告, 领导参阅) over the sealed snapshots.

``regional.analyse(con, as_of, by=...)`` computes grade shares, mean scores, the significance of each
cell's high-risk share against the province (exact hypergeometric test, Benjamini-Hochberg adjusted),
hotspots, concentration, the trend and the grade migration; ``report.write_analysis`` writes it as HTML
or JSON; ``report.build_monthly`` / ``report.write_monthly`` make the monthly report (HTML, PDF via
headless Chromium, or JSON).
"""
