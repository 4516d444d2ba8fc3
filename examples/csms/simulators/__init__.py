"""Scriptable OCPP charge points (1.6J and 2.0.1) on the ocpp library, for the reference CSMS's
tests and for trying it by hand."""
