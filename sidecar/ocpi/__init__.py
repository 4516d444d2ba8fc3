"""The OCPI 2.2.1 object model: msgspec structs with the spec's field rules, enums, the
envelope, PATCH merging and the JSON codec. Pure: no I/O, no store, no transport."""
