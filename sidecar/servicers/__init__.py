"""The gRPC servicers of the core-facing contract (`protos/ocpi_sidecar/v1`): proto in and
out, validation errors as gRPC status codes naming the field; the work is done below them."""
