"""The fake's operations: one async function per API call, ``(tx, params, *path_ids) -> object``.

Both faces of the fake (the HTTP routes and the in-process processor) reach these through one route table
(:mod:`remit.processor.fake.routes`), so they behave identically.
"""
