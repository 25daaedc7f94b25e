"""Each Metabase card's definition (issue 12), computed in plain Python from the generated rows.

Independent of the SQL: no rollup, no trigger-maintained copy, only the raw rows and the definition's words.
``Range(start, end, tenant=…, inbox=…, account=…)``: UTC days, ``end`` inclusive; ``None`` = no value.
Each function returns the rows its card's query must return, in the card's column order.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from smarter_obs.seed.business import BusinessData
from smarter_obs.seed.chatwoot import ChatwootData


@dataclass(frozen=True)
class Range:
    start: date | None = None
    end: date | None = None
    tenant: str | None = None
    inbox: str | None = None
    account: str | None = None

    def has_day(self, day: date) -> bool:
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)

    def range_end(self) -> date:
        """The first UTC day after the range (tomorrow when no end is given)."""
        return (self.end if self.end is not None else datetime.now(UTC).date()) + timedelta(days=1)


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _tenants(data: BusinessData, r: Range) -> set[str]:
    if r.tenant is None:
        return {t.id for t in data.tenants}
    return {t.id for t in data.tenants if r.tenant in (t.id, t.name)}


# -- User Growth ---------------------------------------------------------------------------------------------


def daily_signups(data: BusinessData, r: Range) -> list[tuple]:
    tenants = _tenants(data, r)
    days = Counter(
        _utc_day(p.created_at)
        for p in data.profiles
        if p.tenant_id in tenants and r.has_day(_utc_day(p.created_at))
    )
    return sorted(days.items())


def daily_active_users(data: BusinessData, r: Range) -> list[tuple]:
    tenants = _tenants(data, r)
    users: dict[date, set[str]] = defaultdict(set)
    for e in data.events:
        day = _utc_day(e.occurred_at)
        if e.tenant_id in tenants and r.has_day(day):
            users[day].add(e.user_id)
    return sorted((day, len(u)) for day, u in users.items())


def _active(data: BusinessData, r: Range, first: date, last: date) -> set[str]:
    """Users with an event on a UTC day in [first, last)."""
    tenants = _tenants(data, r)
    return {
        e.user_id for e in data.events if e.tenant_id in tenants and first <= _utc_day(e.occurred_at) < last
    }


def monthly_active_users(data: BusinessData, r: Range) -> list[tuple]:
    end = r.range_end()
    return [(len(_active(data, r, end - timedelta(days=30), end)),)]


def churn_rate(data: BusinessData, r: Range) -> list[tuple]:
    end = r.range_end()
    before = _active(data, r, end - timedelta(days=60), end - timedelta(days=30))
    last = _active(data, r, end - timedelta(days=30), end)
    churned = len(before - last)
    return [(churned / len(before) if before else None, churned, len(before))]


def onboarding_completion(data: BusinessData, r: Range) -> list[tuple]:
    tenants = _tenants(data, r)
    created = [p for p in data.profiles if p.tenant_id in tenants and r.has_day(_utc_day(p.created_at))]
    done = sum(1 for p in created if p.onboarding_completed_at is not None)
    return [(done / len(created) if created else None, done, len(created))]


# -- Commerce Analytics --------------------------------------------------------------------------------------


def _sold_orders(data: BusinessData, r: Range) -> list:
    tenants = _tenants(data, r)
    return [
        o
        for o in data.orders
        if o.cancelled_at is None and o.tenant_id in tenants and r.has_day(_utc_day(o.created_at))
    ]


def revenue_per_day(data: BusinessData, r: Range) -> list[tuple]:
    revenue: dict[tuple[date, str], Decimal] = defaultdict(Decimal)
    for o in _sold_orders(data, r):
        revenue[(_utc_day(o.created_at), o.currency)] += o.total_price
    return [(day, currency, total) for (day, currency), total in sorted(revenue.items())]


def average_order_value(data: BusinessData, r: Range) -> list[tuple]:
    revenue: dict[str, Decimal] = defaultdict(Decimal)
    orders: Counter[str] = Counter()
    for o in _sold_orders(data, r):
        revenue[o.currency] += o.total_price
        orders[o.currency] += 1
    rows = [
        (c, orders[c], revenue[c], (revenue[c] / orders[c]).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
        for c in revenue
    ]
    return sorted(rows, key=lambda row: (-row[2], row[0]))


def products_sold(data: BusinessData, r: Range) -> list[tuple]:
    orders = {(o.tenant_id, o.id) for o in _sold_orders(data, r)}
    quantity: Counter[str] = Counter()
    for item in data.line_items:
        if (item.tenant_id, item.order_id) in orders:
            quantity[item.title] += item.quantity
    return sorted(quantity.items(), key=lambda kv: (-kv[1], kv[0]))


def conversion_rate(data: BusinessData, r: Range) -> list[tuple]:
    tenants = _tenants(data, r)
    created = [c for c in data.checkouts if c.tenant_id in tenants and r.has_day(_utc_day(c.created_at))]
    completed = sum(1 for c in created if c.completed_at is not None)
    return [(completed / len(created) if created else None, completed, len(created))]


# -- Messaging & Support (Chatwoot timestamps are naive UTC) ------------------------------------------------


def _chatwoot_scope(data: ChatwootData, r: Range) -> set[int]:
    """Ids of the inboxes the inbox and account filters keep."""
    accounts = {a.id for a in data.accounts if r.account is None or a.name == r.account}
    return {i.id for i in data.inboxes if i.account_id in accounts and (r.inbox is None or i.name == r.inbox)}


def conversations_per_inbox(data: ChatwootData, r: Range) -> list[tuple]:
    inboxes = _chatwoot_scope(data, r)
    names = {i.id: i.name for i in data.inboxes}
    counts: dict[str, Counter[int]] = defaultdict(Counter)
    for c in data.conversations:
        if c.inbox_id in inboxes and r.has_day(c.created_at.date()):
            counts[names[c.inbox_id]][c.status] += 1
    rows = [(name, sum(s.values()), s[0], s[2], s[3], s[1]) for name, s in counts.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def _event_values(data: ChatwootData, r: Range, name: str) -> dict[date, list[float]]:
    inboxes = _chatwoot_scope(data, r)
    values: dict[date, list[float]] = defaultdict(list)
    for e in data.reporting_events:
        if e.name == name and e.inbox_id in inboxes and r.has_day(e.created_at.date()):
            values[e.created_at.date()].append(e.value)
    return values


def first_response_time(data: ChatwootData, r: Range) -> list[tuple]:
    values = _event_values(data, r, "first_response")
    return [
        (d, len(v), statistics.fmean(v) / 60, statistics.median(v) / 60) for d, v in sorted(values.items())
    ]


def resolution_time(data: ChatwootData, r: Range) -> list[tuple]:
    values = _event_values(data, r, "conversation_resolved")
    return [
        (d, len(v), statistics.fmean(v) / 3600, statistics.median(v) / 3600)
        for d, v in sorted(values.items())
    ]


def agent_activity(data: ChatwootData, r: Range) -> list[tuple]:
    inboxes = _chatwoot_scope(data, r)
    replies: Counter[int] = Counter(
        m.sender_id
        for m in data.messages
        if m.message_type == 1
        and not m.private
        and m.sender_type == "User"
        and m.inbox_id in inboxes
        and r.has_day(m.created_at.date())
    )
    resolved: Counter[int] = Counter(
        e.user_id
        for e in data.reporting_events
        if e.name == "conversation_resolved"
        and e.user_id is not None
        and e.inbox_id in inboxes
        and r.has_day(e.created_at.date())
    )
    rows = [(u.name, replies[u.id], resolved[u.id]) for u in data.users if replies[u.id] or resolved[u.id]]
    return sorted(rows, key=lambda row: (-row[1], -row[2], row[0]))
