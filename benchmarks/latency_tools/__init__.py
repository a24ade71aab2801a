"""Tools for finding where alert latency goes (not benchmarks: they emit no figure)."""
