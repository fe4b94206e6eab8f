"""Requests and responses: the views, the request object, delivery through the cache,
negotiation, signing, client hints, keys, problems and the time limit."""
