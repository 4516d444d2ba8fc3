"""The core-facing half and what both halves share: the OCPI object model (`ocpi`), pricing,
the store (`store`), the gRPC servicers (`servicers`) and the process entry point (`cli`)."""
