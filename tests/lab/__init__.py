"""The instance lab: boots the exact UserData in a Debian root under systemd-nspawn (see docs/lab.md)."""
