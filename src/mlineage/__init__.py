"""mlineage."""
