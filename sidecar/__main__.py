"""python -m sidecar."""

from sidecar.startup import main

main()
