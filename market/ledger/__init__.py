"""The co-op's books: double-entry accounts, transactions and postings in integer cents.

Convention: a transaction *moves* money between accounts. Each posting is the change to one
account (negative where money leaves, positive where it arrives) and a transaction's
postings sum to zero. So an account's balance is what it holds: the pool holds what members
paid in, a channel's payable what the co-op owes that channel, and the Stripe clearing
account holds minus everything that ever came in from outside.
"""

from __future__ import annotations
