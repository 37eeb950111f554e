"""Planning: read AWS (never write), pick the cheapest feasible placement, price it, list the steps."""
