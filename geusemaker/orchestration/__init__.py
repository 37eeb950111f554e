"""The executor: runs a Plan's steps, records every resource, rolls back, destroys."""
