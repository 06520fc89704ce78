"""Allocation runs: the database turned into an `optimization` scenario, solved as a job, compared, adopted."""
