"""Analysis of results: the equilibrium solver (and, later, risk and sensitivity)."""
