"""The AWS protocol kernel: what every AWS-compatible door needs and no app owns.

The error base, SigV4 verification, the query protocol's flattening, the XML writer, checks of
request shapes against botocore's models, the lean ASGI endpoint with its database thread, and
the process-wide guards in front of it (database outage, rate limit, quotas). It imports no app
of Roost's: the apps plug their protocol adapters into the endpoint (see `endpoint.Endpoint`).
"""
