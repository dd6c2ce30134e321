"""Providers and the red/black list (红黑榜): property companies and self-managing owners'
committees, their monthly figures, ratings, summons and replacements (practices.md).

Modules: ``topics`` (stored topics, no imports: the auditor's offline commands use it),
``model`` (the stream), ``rules`` (who may record, the data), ``attribution`` (which
provider an order is charged to), ``orders`` (the fold), ``figures`` (metrics.md's
figures, score, ranks and lists), ``config`` (weights and thresholds), ``service``.
"""
