"""Analysis of a model's history: pure functions of arrays, fed by the lineage queries."""
