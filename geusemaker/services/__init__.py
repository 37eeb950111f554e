"""The only package that talks to AWS: one class per AWS concern, each taking its client from outside."""
