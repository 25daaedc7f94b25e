"""The sample-data generators: deterministic, and shaped like what Clerk, Shopify and Chatwoot write."""

from __future__ import annotations

import re
from calendar import timegm
from collections import Counter, defaultdict
from datetime import date

from smarter_obs.seed.business import generate_business
from smarter_obs.seed.chatwoot import generate_chatwoot


def test_same_seed_same_rows_other_seed_other_rows() -> None:
    a, b = generate_business(seed=3, days=20, profiles=50), generate_business(seed=3, days=20, profiles=50)
    assert a == b
    assert generate_business(seed=4, days=20, profiles=50).orders != a.orders
    assert generate_chatwoot(seed=3, days=20) == generate_chatwoot(seed=3, days=20)


def test_business_rows_look_like_clerk_and_shopify(business_data) -> None:
    data = business_data
    assert all(re.fullmatch(r"user_[0-9A-Za-z]{27}", p.id) for p in data.profiles)
    assert all(re.fullmatch(r"org_[0-9A-Za-z]{27}", t.id) for t in data.tenants)
    assert any(p.onboarding_completed_at is None for p in data.profiles)
    assert any(p.deleted_at is not None for p in data.profiles)
    # abandoned checkouts never complete; completed ones became orders pointing at them
    abandoned = [c for c in data.checkouts if c.completed_at is None]
    assert 0.25 < len(abandoned) / len(data.checkouts) < 0.55
    by_checkout = {o.checkout_id for o in data.orders if o.checkout_id is not None}
    assert by_checkout == {c.id for c in data.checkouts if c.completed_at is not None}
    currencies = defaultdict(set)
    for order in data.orders:
        currencies[order.tenant_id].add(order.currency)
    assert sorted(len(c) for c in currencies.values())[-1] == 2  # one tenant sells in two currencies
    assert any(o.cancelled_at is not None for o in data.orders)
    totals = Counter()
    for item in data.line_items:
        totals[(item.tenant_id, item.order_id)] += item.price * item.quantity
    assert all(totals[(o.tenant_id, o.id)] == o.total_price for o in data.orders)
    created = {p.id: p.created_at for p in data.profiles}
    assert all(created[e.user_id] <= e.occurred_at < data.end for e in data.events)
    assert all(data.start <= o.created_at < data.end for o in data.orders)


def test_chatwoot_reporting_events_are_what_chatwoot_writes(chatwoot_data) -> None:
    data = chatwoot_data
    names = Counter(e.name for e in data.reporting_events)
    assert {"first_response", "reply_time", "conversation_resolved", "conversation_bot_handoff"} <= set(names)
    conversations = {c.id: c for c in data.conversations}
    handoffs = {e.conversation_id: e for e in data.reporting_events if e.name == "conversation_bot_handoff"}
    firsts = [e for e in data.reporting_events if e.name == "first_response"]
    assert len({e.conversation_id for e in firsts}) == len(firsts)  # one per conversation
    for event in data.reporting_events:
        assert event.value == timegm(event.event_end_time.timetuple()) - timegm(
            event.event_start_time.timetuple()
        )
        assert event.created_at == event.event_end_time and event.value_in_business_hours == 0
    for event in firsts:
        conversation = conversations[event.conversation_id]
        handoff = handoffs.get(event.conversation_id)
        # measured from the bot hand-off when there was one (last non-human activity), else from creation
        assert event.event_start_time == (handoff.event_end_time if handoff else conversation.created_at)
        assert event.event_end_time == conversation.first_reply_created_at
        replies = [m for m in data.messages if m.conversation_id == event.conversation_id
                   and m.message_type == 1 and not m.private and m.sender_type == "User"]  # fmt: skip
        assert min(m.created_at for m in replies) == event.event_end_time
        assert event.user_id == min(replies, key=lambda m: m.created_at).sender_id
    resolved = [e for e in data.reporting_events if e.name == "conversation_resolved"]
    assert all(e.event_start_time == conversations[e.conversation_id].created_at for e in resolved)
    twice = Counter(e.conversation_id for e in resolved)
    assert max(twice.values()) == 2  # reopened and resolved again: two events, each from creation
    assert {c.status for c in data.conversations} == {0, 1, 2, 3}
    assert any(m.private for m in data.messages) and any(m.sender_type == "AgentBot" for m in data.messages)
    assert all(data.start <= m.created_at < data.end for m in data.messages)


def test_sizes_scale_the_data() -> None:
    small = generate_business(seed=1, start=date(2025, 1, 1), days=30, profiles=100, checkouts_per_day=10)
    big = generate_business(seed=1, start=date(2025, 1, 1), days=30, profiles=300, checkouts_per_day=40)
    assert len(big.profiles) == 3 * len(small.profiles)
    assert len(big.orders) > 3 * len(small.orders)
