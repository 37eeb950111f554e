"""The built-in local AWS sandbox: moto's server, patched and seeded with what real AWS has and moto lacks."""

SANDBOX_ACCESS_KEY = "testing"
SANDBOX_SECRET_KEY = "testing"
