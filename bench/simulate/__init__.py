"""A simulated co-op: months of seeded member and admin behaviour on a travelling clock.

`python -m bench.simulate --months 12 --members 1000 --seed 7` (or `make simulate`) moves a
clock day by day; the real schedule (`market.jobs.schedule.tick`, runs executed in-process)
decides what runs when; the in-memory Stripe double (`STRIPE_BACKEND=memory`) renews
subscriptions and delivers signed events through the real webhook endpoint. Members and
admins act through the services the pages call. After every simulated day every registered
invariant is checked; at the end the books are reconciled (see `bench.simulate.books`).
"""
