"""ocpi-sidecar."""
