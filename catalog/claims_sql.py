"""The claim's statements on PostgreSQL (catalog.claims): a whole claim in one round trip."""

from __future__ import annotations

from sqlalchemy import text

# PostgreSQL, key products: the whole claim in one statement. Lock the first free key
# (skipping keys other claimers hold locked), insert the claim unless a partial unique index
# says the member already holds one, and mark the key claimed only if the claim went in.
CLAIM_KEY = text(
    """
    WITH free AS (
        SELECT id FROM licence_key
        WHERE product_id = :product_id AND status = 'available'
        ORDER BY id = :prefer DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED
    ), made AS (
        INSERT INTO claim (member_id, product_id, licence_key_id, claimed_at)
        SELECT :member_id, :product_id, free.id, :now FROM free
        ON CONFLICT DO NOTHING
        RETURNING id, licence_key_id
    ), taken AS (
        UPDATE licence_key SET status = 'claimed' FROM made
        WHERE licence_key.id = made.licence_key_id
        RETURNING licence_key.id
    )
    SELECT (SELECT id FROM made), (SELECT count(*) FROM free), (SELECT count(*) FROM taken)
    """
)

# The usual claim, from the product's id alone, in one statement: a key product, active
# in an active channel, whose member has no burnt licence of it to take back (a retired
# key or seat that `claims._take_back` hands back). It prefers the key the member held
# before, as CLAIM_KEY does. It returns the new claim's id, or NULL when it made none
# (not the usual claim, or a refusal: the caller takes the general path to say which).
USUAL_CLAIM = text(
    """
    WITH product AS (
        SELECT product.id FROM product JOIN channel ON channel.id = product.channel_id
        WHERE product.id = :product_id AND product.active AND channel.active
          AND product.kind = 'key'
    ), last AS (
        SELECT licence_key_id, stock_retired FROM claim
        WHERE member_id = :member_id AND product_id = :product_id
          AND released_at IS NOT NULL
        ORDER BY stock_retired DESC, released_at DESC, id DESC LIMIT 1
    ), free AS (
        SELECT id FROM licence_key
        WHERE product_id = (SELECT id FROM product) AND status = 'available'
          AND NOT EXISTS (SELECT 1 FROM last WHERE stock_retired)
        ORDER BY id = coalesce((SELECT licence_key_id FROM last), -1) DESC, id
        LIMIT 1 FOR UPDATE SKIP LOCKED
    ), made AS (
        INSERT INTO claim (member_id, product_id, licence_key_id, claimed_at)
        SELECT :member_id, :product_id, free.id, :now FROM free
        ON CONFLICT DO NOTHING
        RETURNING id, licence_key_id
    ), taken AS (
        UPDATE licence_key SET status = 'claimed' FROM made
        WHERE licence_key.id = made.licence_key_id
    )
    SELECT id FROM made
    """
)
