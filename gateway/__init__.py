"""The partner-facing half: OCPI 2.2.1 transport (envelope, status codes, authentication,
routing headers, pagination), one module per OCPI module, the admin API, the outbound client
and the push worker."""
