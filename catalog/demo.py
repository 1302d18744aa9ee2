"""Demo chapters for the catalogue (see shared/STORY.md), built through the services."""

from __future__ import annotations

import random
import string
from datetime import datetime

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from catalog import claims, services
from catalog.imports import import_keys
from catalog.models import Product
from market.members.models import Member

ADMIN_EMAIL = "admin@commons.example"
NIA_EMAIL = "nia@commons.example"
OFFLINE_EDITOR_REASON = "no challenger offers an offline editor yet"

CHANNELS = [
    ("Safe & Private", "Password manager, VPN and encrypted mail.", "steward@safe.example"),
    ("Make Things", "Photo and vector editors, audio tools.", "steward@make.example"),
    ("Know More", "Independent news and reference subscriptions.", "steward@know.example"),
    ("Build Software", "Code hosting, CI minutes and an IDE.", "steward@build.example"),
]

# name, market category, share (basis points), website
VENDORS = [
    ("Vaultly", "password managers", 900, "https://vaultly.example"),
    ("Tunnelwise", "vpn", 600, "https://tunnelwise.example"),
    ("Quillmail", "encrypted mail", 400, "https://quillmail.example"),
    ("Pixelforge", "photo editors", 4800, "https://pixelforge.example"),
    ("Lumen Darkroom", "photo editors", 700, "https://lumen.example"),
    ("Vectorly", "vector editors", 500, "https://vectorly.example"),
    ("Wavecraft", "audio tools", 1100, "https://wavecraft.example"),
    ("The Ledger Review", "news", 300, "https://ledger-review.example"),
    ("Atlas Reference", "reference", 800, "https://atlas.example"),
    ("Forgehub", "code hosting", 3500, "https://forgehub.example"),  # a leader: not bought
    ("Gitlantic", "code hosting", 1200, "https://gitlantic.example"),
    ("Kestrel", "ides", 1000, "https://kestrel.example"),
]

# channel, vendor, product, category, kind, stock (keys or seats), reassignable
PRODUCTS = [
    (0, "Vaultly", "Vaultly Password Manager", "password manager", "key", 600, True),
    (0, "Vaultly", "Vaultly Family Vault", "password manager", "seat", 100, True),
    (0, "Vaultly", "Vaultly Authenticator", "password manager", "link", 0, True),
    (0, "Tunnelwise", "Tunnelwise VPN", "vpn", "key", 400, True),
    (0, "Tunnelwise", "Tunnelwise Router Kit", "vpn", "key", 20, False),
    (0, "Quillmail", "Quillmail Encrypted Mail", "encrypted mail", "seat", 300, True),
    (0, "Quillmail", "Quillmail Custom Domain", "encrypted mail", "seat", 40, True),
    (0, "Quillmail", "Quillmail Bridge", "encrypted mail", "link", 0, True),
    (1, "Pixelforge", "Pixelforge Offline Editor", "photo editor", "key", 150, False),
    (1, "Lumen Darkroom", "Lumen Darkroom", "photo editor", "key", 300, True),
    (1, "Lumen Darkroom", "Lumen Presets Pack", "photo editor", "link", 0, True),
    (1, "Vectorly", "Vectorly Designer", "vector editor", "key", 300, True),
    (1, "Vectorly", "Vectorly Font Studio", "vector editor", "key", 8, True),
    (1, "Wavecraft", "Wavecraft Studio", "audio", "key", 250, True),
    (1, "Wavecraft", "Wavecraft Podcast Suite", "audio", "seat", 60, True),
    (1, "Wavecraft", "Wavecraft Sample Library", "audio", "link", 0, True),
    (2, "The Ledger Review", "The Ledger Review", "news", "seat", 300, True),
    (2, "The Ledger Review", "Ledger Review Archive", "news", "link", 0, True),
    (2, "Atlas Reference", "Atlas Reference Online", "reference", "seat", 250, True),
    (2, "Atlas Reference", "Atlas Dictionary", "reference", "key", 200, True),
    (2, "Atlas Reference", "Atlas Maps", "reference", "link", 0, True),
    (2, "Atlas Reference", "Atlas Encyclopedia Offline", "reference", "key", 120, False),
    (3, "Gitlantic", "Gitlantic Code Hosting", "code hosting", "seat", 300, True),
    (3, "Gitlantic", "Gitlantic CI Minutes", "ci minutes", "seat", 200, True),
    (3, "Gitlantic", "Gitlantic Package Registry", "code hosting", "link", 0, True),
    (3, "Kestrel", "Kestrel IDE", "ide", "key", 300, True),
    (3, "Kestrel", "Kestrel Profiler", "ide", "key", 4, True),
    (3, "Kestrel", "Kestrel Remote Dev", "ide", "seat", 50, True),
    (3, "Kestrel", "Kestrel Plugins", "ide", "link", 0, True),
]


def _admin(session: Session) -> Member:
    admin = session.scalar(select(Member).where(Member.email == ADMIN_EMAIL))
    assert admin is not None, "the members chapter runs first"
    return admin


def _keys_csv(rng: random.Random, prefix: str, count: int) -> bytes:
    alphabet = string.ascii_uppercase + string.digits
    lines = ["key"]
    for _ in range(count):
        groups = ["".join(rng.choice(alphabet) for _ in range(4)) for _ in range(3)]
        lines.append(f"{prefix}-{'-'.join(groups)}")
    return ("\r\n".join(lines) + "\r\n").encode()


def chapter_catalog(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """The shelf: four channels, twelve vendors (two leaders), 29 products, keys in stock."""
    admin = _admin(session)
    leader_bp = int(app.config["LEADER_SHARE_BP"])
    channels = [
        services.save_channel(session, admin, services.ChannelInput(n, d, s))
        for n, d, s in CHANNELS
    ]
    vendors = {
        name: services.save_vendor(session, admin, services.VendorInput(name, cat, bp, site))
        for name, cat, bp, site in VENDORS
    }
    for channel_i, vendor_name, name, category, kind, stock, reassignable in PRODUCTS:
        vendor = vendors[vendor_name]
        data = services.ProductInput(
            vendor_id=vendor.id,
            channel_id=channels[channel_i].id,
            name=name,
            category=category,
            kind=kind,
            description=f"{name} by {vendor_name}, for every member of the co-op.",
            terms="Personal use by the claiming member; one licence per member.",
            reassignable=reassignable,
            seats_total=stock if kind == "seat" else 0,
            redemption_url=f"{vendor.website}/redeem/{{token}}" if kind == "link" else "",
            justification=OFFLINE_EDITOR_REASON if vendor_name == "Pixelforge" else "",
        )
        product = services.save_product(session, admin, data, leader_bp)
        if kind == "key":
            prefix = "".join(w[0] for w in name.split()).upper()
            result = import_keys(session, admin, product, _keys_csv(rng, prefix, stock))
            assert result.imported == stock, result.rejected


def _claimers(session: Session, now: datetime) -> list[Member]:
    """Members in good standing once the dues chapter has charged everyone, oldest first."""
    members = session.scalars(select(Member).where(Member.is_admin.is_(False)).order_by(Member.id))
    return [m for m in members if m.in_good_standing(now)]


def chapter_claims(app: Flask, session: Session, rng: random.Random, now: datetime) -> None:
    """Claims: Nia takes the password manager and a news seat and releases the VPN."""
    products = {p.name: p for p in session.scalars(select(Product).order_by(Product.name))}
    standing = _claimers(session, now)
    nia = next((m for m in standing if m.email == NIA_EMAIL), None)
    others = rng.sample([m for m in standing if m is not nia], min(120, len(standing) - 1))
    if nia is not None:
        for name in ("Vaultly Password Manager", "The Ledger Review"):
            claims.claim(session, nia, products[name].id, now=now)
        vpn = claims.claim(session, nia, products["Tunnelwise VPN"].id, now=now)
        claims.release(session, nia, vpn, now=now)  # she does not use a VPN
    popular = [p for p in products.values() if p.name != "Kestrel Profiler"]
    for member in others:
        for product in rng.sample(popular, rng.randint(1, 5)):
            claims.claim(session, member, product.id, now=now)
    # Someone took the last-but-one profiler: the stock page shows it running low.
    for member in others[:3]:
        claims.claim(session, member, products["Kestrel Profiler"].id, now=now)
