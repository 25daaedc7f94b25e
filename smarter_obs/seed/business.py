"""SmarterOS business rows for Supabase: tenants, Clerk profiles, product events, Shopify checkouts, orders.

A pure function of the seed and sizes. The shapes follow what Clerk and Shopify send: ``user_…`` ids,
signups growing over time, onboarding finished by most users hours to days later, a few deleted users,
users active on some days and some of them churning; checkouts of which about 60 % complete (the others are
abandoned and never get ``completed_at``), an order per completed checkout (plus a few without one),
1-4 line items from the tenant's catalogue, one tenant selling in two currencies, some orders cancelled.
Nothing happens after ``start + days`` (the data set's "now").
"""

from __future__ import annotations

import math
import random
import string
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from smarter_obs.seed._rand import poisson

__all__ = [
    "BusinessData",
    "Checkout",
    "LineItem",
    "Order",
    "Profile",
    "Tenant",
    "UserEvent",
    "generate_business",
    "write_business",
]


class Tenant(NamedTuple):
    id: str
    name: str
    created_at: datetime


class Profile(NamedTuple):
    id: str
    tenant_id: str
    email: str | None
    created_at: datetime
    onboarding_completed_at: datetime | None
    deleted_at: datetime | None


class UserEvent(NamedTuple):
    tenant_id: str
    user_id: str
    event: str
    occurred_at: datetime


class Checkout(NamedTuple):
    tenant_id: str
    id: int
    created_at: datetime
    completed_at: datetime | None


class Order(NamedTuple):
    tenant_id: str
    id: int
    created_at: datetime
    currency: str
    total_price: Decimal
    financial_status: str | None
    cancelled_at: datetime | None
    checkout_id: int | None
    customer_id: int | None


class LineItem(NamedTuple):
    tenant_id: str
    order_id: int
    id: int
    product_id: int | None
    title: str
    quantity: int
    price: Decimal


@dataclass
class BusinessData:
    """Every generated row, per table, in insertion order. ``end`` is the data set's "now" (exclusive)."""

    start: datetime
    end: datetime
    tenants: list[Tenant] = field(default_factory=list)
    profiles: list[Profile] = field(default_factory=list)
    events: list[UserEvent] = field(default_factory=list)
    checkouts: list[Checkout] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    line_items: list[LineItem] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "tenants": len(self.tenants),
            "profiles": len(self.profiles),
            "user_events": len(self.events),
            "checkouts": len(self.checkouts),
            "orders": len(self.orders),
            "order_line_items": len(self.line_items),
        }


# Tenant names, their shop currencies (weights) and catalogues: (title, price in the first currency).
_SHOPS: list[tuple[str, dict[str, float], list[tuple[str, int]]]] = [
    (
        "Café Austral",
        {"CLP": 0.7, "USD": 0.3},
        [
            ("Café de grano 250 g", 8990),
            ("Café molido 500 g", 14990),
            ("Prensa francesa", 24990),
            ("Taza de cerámica", 6990),
            ("Filtros de papel x100", 3490),
            ("Cápsulas x10", 5990),
            ("Molinillo manual", 39990),
            ("Té verde 100 g", 4990),
        ],
    ),
    (
        "Ferretería Los Andes",
        {"CLP": 1.0},
        [
            ("Taladro percutor", 59990),
            ("Juego de destornilladores", 12990),
            ("Cinta métrica 5 m", 4990),
            ("Guantes de trabajo", 3990),
            ("Martillo", 9990),
            ("Caja de tornillos", 2990),
            ("Llave inglesa", 8990),
            ("Pintura látex 1 gal", 17990),
            ("Brocha 3 pulgadas", 2490),
        ],
    ),
    (
        "Panadería Sol",
        {"CLP": 1.0},
        [
            ("Pan amasado x6", 2490),
            ("Marraqueta 1 kg", 2190),
            ("Kuchen de nuez", 9990),
            ("Empanada de pino", 2290),
            ("Torta tres leches", 18990),
            ("Alfajores x12", 7490),
        ],
    ),
    (
        "Andes Outdoor",
        {"USD": 1.0},
        [
            ("Trail backpack 30 L", 89),
            ("Trekking poles", 59),
            ("Water bottle 1 L", 19),
            ("Merino socks", 24),
            ("Headlamp", 35),
            ("Rain jacket", 129),
            ("Camp stove", 69),
        ],
    ),
    (
        "Librería Pudú",
        {"CLP": 1.0},
        [
            ("Novela gráfica", 15990),
            ("Cuaderno A5", 3990),
            ("Set de lápices", 5990),
            ("Agenda 2025", 9990),
            ("Libro infantil", 8990),
        ],
    ),
]
_USD_PER_CLP = 1 / 950
_EVENTS = ("login", "message_sent", "automation_run", "order_viewed", "dashboard_opened", "contact_created")
_EVENT_WEIGHTS = (4, 6, 3, 3, 2, 1)
_FINANCIAL = (("paid", 0.9), ("pending", 0.05), ("partially_refunded", 0.03), ("refunded", 0.02))
_BASE62 = string.digits + string.ascii_letters


def _clerk_id(rng: random.Random, prefix: str) -> str:
    return prefix + "".join(rng.choice(_BASE62) for _ in range(27))


def _price(amount: float, currency: str) -> Decimal:
    return Decimal(round(amount)) if currency == "CLP" else Decimal(f"{amount:.2f}")


def _shop_prices(catalogue: list[tuple[str, int]], currencies: dict[str, float]) -> dict[str, list[Decimal]]:
    first = next(iter(currencies))
    prices: dict[str, list[Decimal]] = {}
    for currency in currencies:
        factor = 1.0 if currency == first else (_USD_PER_CLP if first == "CLP" else 950.0)
        prices[currency] = [_price(price * factor, currency) for _, price in catalogue]
    return prices


def generate_business(
    *,
    seed: int = 7,
    start: date = date(2025, 1, 1),
    days: int = 90,
    tenants: int = 3,
    profiles: int = 400,
    checkouts_per_day: float = 24.0,
) -> BusinessData:
    """Rows for ``tenants`` shops over ``days`` UTC days from ``start``; sizes scale the row counts.

    About ``profiles`` users (a few signed up before ``start``), ~3 events per active user-day, about
    ``checkouts_per_day`` checkouts per day over all tenants (~60 % become orders).
    """
    if not 1 <= tenants <= len(_SHOPS):
        raise ValueError(f"tenants must be between 1 and {len(_SHOPS)}")
    rng = random.Random(seed)
    t0 = datetime(start.year, start.month, start.day, tzinfo=UTC)
    end = t0 + timedelta(days=days)
    data = BusinessData(start=t0, end=end)
    shops = _SHOPS[:tenants]
    weights = [1.0 / (i + 1) for i in range(tenants)]  # the first shop is the biggest
    for i, (name, _, _) in enumerate(shops):
        data.tenants.append(Tenant(_clerk_id(rng, "org_"), name, t0 - timedelta(days=120 - 10 * i)))
    _generate_profiles_and_events(rng, data, profiles, weights)
    _generate_commerce(rng, data, shops, weights, checkouts_per_day)
    return data


def _generate_profiles_and_events(
    rng: random.Random, data: BusinessData, count: int, weights: list[float]
) -> None:
    t0, end = data.start, data.end
    span = (end - t0).total_seconds()
    history = span * 0.25  # some users signed up before the data set starts, so early windows have users
    for n in range(count):
        tenant = rng.choices(data.tenants, weights)[0]
        # signups grow over time: density rising linearly across [t0 - history, end)
        created = (
            t0 - timedelta(seconds=history) + timedelta(seconds=(span + history) * math.sqrt(rng.random()))
        )
        onboarding = created + timedelta(hours=rng.expovariate(1 / 20)) if rng.random() < 0.7 else None
        deleted = created + timedelta(days=rng.uniform(1, 60)) if rng.random() < 0.04 else None
        profile = Profile(
            id=_clerk_id(rng, "user_"),
            tenant_id=tenant.id,
            email=f"user{n}@example.cl" if rng.random() < 0.95 else None,
            created_at=created,
            onboarding_completed_at=onboarding if onboarding and onboarding < end else None,
            deleted_at=deleted if deleted and deleted < end else None,
        )
        data.profiles.append(profile)
        _generate_activity(rng, data, profile)
    data.events.sort(key=lambda e: e.occurred_at)


def _generate_activity(rng: random.Random, data: BusinessData, profile: Profile) -> None:
    engagement = rng.betavariate(2, 5)  # share of days a user is active
    stop = profile.deleted_at or data.end
    if rng.random() < 0.3:  # churners: active for a while, then never again
        stop = min(stop, profile.created_at + timedelta(days=rng.expovariate(1 / 25)))
    day = datetime(profile.created_at.year, profile.created_at.month, profile.created_at.day, tzinfo=UTC)
    while day < stop:
        if day >= data.start and rng.random() < engagement:
            for _ in range(1 + poisson(rng, 2.0)):
                at = day + timedelta(seconds=rng.uniform(0, 86400))
                if profile.created_at <= at < stop and at < data.end:
                    event = rng.choices(_EVENTS, _EVENT_WEIGHTS)[0]
                    data.events.append(UserEvent(profile.tenant_id, profile.id, event, at))
        day += timedelta(days=1)


@dataclass
class _Shop:
    tenant: Tenant
    currencies: dict[str, float]
    catalogue: list[tuple[str, int]]
    prices: dict[str, list[Decimal]]
    product_ids: list[int]
    customers: list[int]


def _generate_commerce(
    rng: random.Random,
    data: BusinessData,
    shops: list[tuple[str, dict[str, float], list[tuple[str, int]]]],
    weights: list[float],
    checkouts_per_day: float,
) -> None:
    ids = {"checkout": 31_000_000_000_000, "order": 5_610_000_000_000, "line": 14_200_000_000_000}
    total = sum(weights)
    days = (data.end - data.start).days
    for n, (tenant, (_, currencies, catalogue), weight) in enumerate(
        zip(data.tenants, shops, weights, strict=True)
    ):
        shop = _Shop(
            tenant,
            currencies,
            catalogue,
            _shop_prices(catalogue, currencies),
            [8_100_000_000 + 1000 * n + i for i in range(len(catalogue))],
            [7_300_000_000 + rng.randrange(10**9) for _ in range(60)],
        )
        for d in range(days):
            day = data.start + timedelta(days=d)
            weekly = 1.25 if day.weekday() >= 4 else 0.9  # busier Friday to Sunday
            for _ in range(poisson(rng, checkouts_per_day * weight / total * weekly)):
                ids["checkout"] += rng.randrange(1, 40)
                created = day + timedelta(seconds=rng.uniform(0, 86400))
                completed = (
                    created + timedelta(minutes=rng.expovariate(1 / 6)) if rng.random() < 0.6 else None
                )
                if completed is not None and completed >= data.end:
                    completed = None  # not completed yet at the data set's "now"
                data.checkouts.append(Checkout(tenant.id, ids["checkout"], created, completed))
                if completed is not None:
                    _order(rng, data, ids, shop, completed, ids["checkout"], rng.choice(shop.customers))
            for _ in range(poisson(rng, 0.4 * weight)):  # orders without a checkout (drafts, POS)
                _order(rng, data, ids, shop, day + timedelta(seconds=rng.uniform(0, 86400)), None, None)
    data.checkouts.sort(key=lambda c: c.created_at)
    data.orders.sort(key=lambda o: o.created_at)


def _order(
    rng: random.Random,
    data: BusinessData,
    ids: dict[str, int],
    shop: _Shop,
    created: datetime,
    checkout_id: int | None,
    customer_id: int | None,
) -> None:
    ids["order"] += rng.randrange(1, 25)
    currency = rng.choices(list(shop.currencies), list(shop.currencies.values()))[0]
    total = Decimal(0)
    for k in rng.sample(range(len(shop.catalogue)), 1 + min(poisson(rng, 0.8), len(shop.catalogue) - 1)):
        ids["line"] += rng.randrange(1, 9)
        quantity = 1 + poisson(rng, 0.5)
        price = shop.prices[currency][k]
        total += price * quantity
        data.line_items.append(
            LineItem(
                shop.tenant.id,
                ids["order"],
                ids["line"],
                shop.product_ids[k],
                shop.catalogue[k][0],
                quantity,
                price,
            )
        )
    cancelled = created + timedelta(hours=rng.expovariate(1 / 12)) if rng.random() < 0.05 else None
    if cancelled is not None and cancelled >= data.end:
        cancelled = None
    status = "voided" if cancelled else rng.choices([s for s, _ in _FINANCIAL], [w for _, w in _FINANCIAL])[0]
    data.orders.append(
        Order(
            shop.tenant.id,
            ids["order"],
            created,
            currency,
            total,
            status,
            cancelled,
            checkout_id,
            customer_id,
        )
    )


def write_business(conn: Any, data: BusinessData) -> dict[str, int]:
    """COPY every row into the business tables (migrated by ``smarter-obs db migrate --postgres``).

    One transaction: on failure nothing is written. Returns rows written per table.
    """
    from smarter_obs.seed._copy import copy_rows

    written: dict[str, int] = {}
    with conn.transaction():
        written["tenants"] = copy_rows(conn, "tenants", data.tenants)
        written["profiles"] = copy_rows(conn, "profiles", data.profiles)
        written["checkouts"] = copy_rows(conn, "checkouts", data.checkouts)
        written["orders"] = copy_rows(conn, "orders", data.orders)
        written["order_line_items"] = copy_rows(conn, "order_line_items", data.line_items)
        written["user_events"] = copy_rows(conn, "user_events", data.events)
    return written
