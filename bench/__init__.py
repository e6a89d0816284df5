"""`python -m bench` (`make bench`): the stack under wrk; each path beside its references."""
