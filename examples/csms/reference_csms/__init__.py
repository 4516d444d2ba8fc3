"""A reference CSMS bridge: OCPP 1.6J and 2.0.1 charge points on one side, ocpi-sidecar's gRPC
contract on the other. Read it as the model integration; docs/contract.md walks through it."""
