"""Connectors: bring history in from other systems and send lineage out to them."""
