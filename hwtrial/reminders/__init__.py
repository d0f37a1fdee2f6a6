"""Delivery of what hwtrial queues: the outbox dispatcher, its channels and its runners.

``dispatcher`` claims due outbox rows, hands each to a ``send`` callable and records the
outcome (sent, retried with backoff, dead-lettered); it takes ``now`` and ``send`` as
arguments. ``channels`` builds and sends the messages (SMTP today). ``worker`` is the
embedded runner behind ``hwtrial worker``.
"""
