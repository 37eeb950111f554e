"""Files shipped to the instance (the docker compose template), installed as `geusemaker.runtime_assets`."""
