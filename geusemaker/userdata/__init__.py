"""UserData: jinja2 templates rendered into the exact bytes an instance runs at boot."""
