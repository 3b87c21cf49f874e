"""Insights: containment, resolution, satisfaction and agent figures, read from persisted events.

- :mod:`bot.insights.events`: one tracker event as a flat row (what the store indexes).
- :mod:`bot.insights.store`: the event store (SQLite embedded, PostgreSQL in production).
- :mod:`bot.insights.broker`: the Rasa event broker that records every event into the
  store and forwards it to another broker (the handoff relay).
- :mod:`bot.insights.warehouse`: loads a period of events and tickets into an in-memory
  SQLite database; :mod:`bot.insights.metrics` computes every figure there in SQL.
- :mod:`bot.insights.report`: the standalone HTML (plotly) and JSON report;
  ``python -m bot.insights report --since 30d --out report.html``.

Definitions and formulas: docs/insights.md.
"""
