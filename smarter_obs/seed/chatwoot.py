"""A Chatwoot data set written into Chatwoot's own tables, with the rows Chatwoot itself would write.

Accounts, agents (``users``), inboxes (WhatsApp, a WhatsApp inbox answered first by a bot, web chat, email),
conversations with their messages, and the ``reporting_events`` Chatwoot's listeners write
(``app/listeners/reporting_event_listener.rb``):

- ``first_response`` at an agent's first reply: from the last non-human activity (the bot hand-off, else the
  conversation's creation) to the reply; ``user_id`` = the replying agent;
- ``reply_time`` at each agent reply while the contact waits: from ``waiting_since`` to the reply;
- ``conversation_resolved`` at each resolution: from the conversation's creation (also after a reopen);
  ``conversation_bot_resolved`` alongside it when the bot resolved alone;
- ``conversation_bot_handoff`` (at most once) and ``conversation_opened`` (a reopen: from the last
  resolution).

``value`` is ``end.to_i - start.to_i`` (whole seconds); ``value_in_business_hours`` is 0 because the inboxes
have working hours disabled. Timestamps are naive UTC, as Rails writes them. Nothing happens at or after
``start + days``; conversations still running then keep their state (open, pending, snoozed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from importlib import resources
from typing import Any, NamedTuple

from smarter_obs.seed._rand import poisson

__all__ = [
    "Account",
    "ChatwootData",
    "Conversation",
    "Inbox",
    "Message",
    "ReportingEvent",
    "User",
    "chatwoot_schema_sql",
    "create_chatwoot_schema",
    "generate_chatwoot",
    "write_chatwoot",
]

# Chatwoot's integer enums (app/models/conversation.rb, message.rb)
OPEN, RESOLVED, PENDING, SNOOZED = 0, 1, 2, 3
INCOMING, OUTGOING, ACTIVITY = 0, 1, 2


class Account(NamedTuple):
    id: int
    name: str
    created_at: datetime
    updated_at: datetime
    status: int


class User(NamedTuple):
    id: int
    provider: str
    uid: str
    name: str
    display_name: str | None
    email: str
    created_at: datetime
    updated_at: datetime
    type: str | None


class Inbox(NamedTuple):
    id: int
    channel_id: int
    account_id: int
    name: str
    created_at: datetime
    updated_at: datetime
    channel_type: str
    working_hours_enabled: bool
    timezone: str


class Conversation(NamedTuple):
    id: int
    account_id: int
    inbox_id: int
    status: int
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime
    contact_id: int
    display_id: int
    last_activity_at: datetime
    first_reply_created_at: datetime | None
    waiting_since: datetime | None


class Message(NamedTuple):
    id: int
    content: str | None
    account_id: int
    inbox_id: int
    conversation_id: int
    message_type: int
    created_at: datetime
    updated_at: datetime
    private: bool
    status: int
    content_type: int
    sender_type: str | None
    sender_id: int | None


class ReportingEvent(NamedTuple):
    id: int
    name: str
    value: float
    account_id: int
    inbox_id: int
    user_id: int | None
    conversation_id: int
    created_at: datetime
    updated_at: datetime
    value_in_business_hours: float
    event_start_time: datetime
    event_end_time: datetime


@dataclass
class ChatwootData:
    start: datetime
    end: datetime
    accounts: list[Account] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    inboxes: list[Inbox] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    reporting_events: list[ReportingEvent] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "accounts": len(self.accounts),
            "users": len(self.users),
            "inboxes": len(self.inboxes),
            "conversations": len(self.conversations),
            "messages": len(self.messages),
            "reporting_events": len(self.reporting_events),
        }


_ACCOUNTS = ("Café Austral", "Ferretería Los Andes", "Panadería Sol", "Andes Outdoor")
_AGENTS = (
    "Camila Rojas", "Matías González", "Valentina Muñoz", "Benjamín Soto", "Catalina Díaz",
    "Tomás Pérez", "Isidora Contreras", "Joaquín Silva", "Antonia Morales", "Vicente Araya",
    "Florencia Castro", "Martín Reyes",
)  # fmt: skip
# (name, channel type, share of the account's conversations, answered first by a bot)
_INBOXES = (
    ("WhatsApp Ventas", "Channel::Whatsapp", 0.45, False),
    ("WhatsApp Soporte", "Channel::Whatsapp", 0.25, True),
    ("Chat web", "Channel::WebWidget", 0.2, False),
    ("Correo", "Channel::Email", 0.1, False),
)
_AGENT_BOT_ID = 1
_CONTACT_LINES = ("Hola, ¿tienen stock?", "¿Cuánto cuesta el envío?", "Mi pedido no ha llegado", "Gracias!")
_AGENT_LINES = (
    "¡Hola! Te ayudo enseguida.",
    "Sí, tenemos stock.",
    "Revisé tu pedido: llega mañana.",
    "¡A ti!",
)


def _seconds(start: datetime, end: datetime) -> float:
    """Chatwoot's ``end.to_i - start.to_i``: whole seconds, each instant truncated first."""
    return (end.replace(microsecond=0) - start.replace(microsecond=0)).total_seconds()


@dataclass
class _Run:
    """One conversation being simulated: what it wrote so far and its current state."""

    conv: dict[str, Any]
    inbox: Inbox
    agents: list[int]
    end: datetime
    messages: list[tuple] = field(default_factory=list)
    events: list[tuple] = field(default_factory=list)

    def message(self, at: datetime, kind: int, sender_type: str | None, sender_id: int | None, text: str,
                private: bool = False) -> None:  # fmt: skip
        self.messages.append((at, self.conv["id"], text, kind, private, sender_type, sender_id))
        self.conv["last_activity_at"] = at
        self.conv["updated_at"] = at

    def event(self, name: str, start: datetime, end: datetime, user_id: int | None) -> None:
        self.events.append((end, self.conv["id"], name, _seconds(start, end), user_id, start))


def _simulate(rng: random.Random, run: _Run) -> None:
    """Play one conversation until it settles or the data set ends (every step checks ``run.end``)."""
    conv, end = run.conv, run.end
    t = conv["created_at"]
    run.message(t, INCOMING, "Contact", conv["contact_id"], rng.choice(_CONTACT_LINES))
    conv["waiting_since"] = t
    last_non_human = t
    if run.inbox.name == "WhatsApp Soporte":  # a bot answers first, then resolves or hands over
        t += timedelta(seconds=rng.uniform(2, 8))
        if t >= end:
            return
        run.message(t, OUTGOING, "AgentBot", _AGENT_BOT_ID, "Soy el asistente virtual, ¿en qué te ayudo?")
        conv["status"] = PENDING
        t += timedelta(minutes=rng.uniform(1, 15))
        if t >= end:
            return
        if rng.random() < 0.3:
            run.message(t, ACTIVITY, None, None, "Conversation was marked resolved by the bot")
            run.event("conversation_resolved", conv["created_at"], t, None)
            run.event("conversation_bot_resolved", conv["created_at"], t, None)
            conv["status"], conv["waiting_since"] = RESOLVED, None
            return
        run.message(t, ACTIVITY, None, None, "Conversation was handed over to an agent")
        run.event("conversation_bot_handoff", conv["created_at"], t, None)
        conv["status"] = OPEN
        last_non_human = t
    if rng.random() < 0.08:  # never picked up by anyone (yet)
        return
    conv["assignee_id"] = rng.choice(run.agents)
    t = _agent_reply(rng, run, max(t, last_non_human), first_from=last_non_human)
    if t is None:
        return
    for _ in range(min(4, int(rng.expovariate(1 / 1.2)))):  # a few more rounds with the contact
        t += timedelta(minutes=rng.expovariate(1 / 25))
        if t >= end:
            return
        run.message(t, INCOMING, "Contact", conv["contact_id"], rng.choice(_CONTACT_LINES))
        conv["waiting_since"] = conv["waiting_since"] or t
        if rng.random() < 0.15:
            note = t + timedelta(minutes=rng.uniform(0.5, 5))
            if note >= end:
                return
            run.message(note, OUTGOING, "User", conv["assignee_id"], "Nota: cliente frecuente", private=True)
            t = note
        t = _agent_reply(rng, run, t)
        if t is None:
            return
    _settle(rng, run, t)


def _agent_reply(rng: random.Random, run: _Run, after: datetime, first_from: datetime | None = None):
    """An agent's reply some minutes after ``after`` (log-normal, median ~6 min); the new time or None."""
    conv = run.conv
    at = after + timedelta(seconds=rng.lognormvariate(5.9, 1.1))
    if at >= run.end:
        return None
    sender = (
        conv["assignee_id"] if rng.random() < 0.9 else rng.choice(run.agents)
    )  # a colleague helps now and then
    run.message(at, OUTGOING, "User", sender, rng.choice(_AGENT_LINES))
    if conv["first_reply_created_at"] is None:
        conv["first_reply_created_at"] = at
        run.event("first_response", first_from if first_from is not None else conv["created_at"], at, sender)
    if conv["waiting_since"] is not None:
        run.event("reply_time", conv["waiting_since"], at, conv["assignee_id"])
        conv["waiting_since"] = None
    return at


def _settle(rng: random.Random, run: _Run, t: datetime) -> None:
    """Resolve (sometimes reopen and resolve again), or leave pending/snoozed/open."""
    conv = run.conv
    roll = rng.random()
    if roll >= 0.8:
        t += timedelta(minutes=rng.uniform(1, 60))
        if t < run.end:
            conv["status"] = PENDING if roll < 0.88 else SNOOZED if roll < 0.94 else OPEN
            conv["updated_at"] = t
        return
    for attempt in range(2):
        t += timedelta(minutes=rng.expovariate(1 / 90))
        if t >= run.end:
            return
        run.message(t, ACTIVITY, None, None, "Conversation was marked resolved")
        run.event("conversation_resolved", conv["created_at"], t, conv["assignee_id"])
        conv["status"], conv["waiting_since"] = RESOLVED, None
        if attempt == 1 or rng.random() >= 0.12:
            return
        resolved_at, t = t, t + timedelta(hours=rng.expovariate(1 / 20))  # the contact writes again
        if t >= run.end:
            return
        run.message(t, INCOMING, "Contact", conv["contact_id"], "Hola de nuevo, tengo otra consulta")
        run.event("conversation_opened", resolved_at, t, conv["assignee_id"])
        conv["status"], conv["waiting_since"] = OPEN, t
        replied = _agent_reply(rng, run, t)
        if replied is None:
            return
        t = replied


def generate_chatwoot(
    *,
    seed: int = 7,
    start: date = date(2025, 1, 1),
    days: int = 90,
    accounts: int = 2,
    agents_per_account: int = 4,
    conversations_per_day: float = 12.0,
) -> ChatwootData:
    """Chatwoot rows over ``days`` UTC days from ``start``: about ``conversations_per_day`` conversations a
    day over all accounts (the first account busiest), each with its messages and reporting events."""
    if not 1 <= accounts <= len(_ACCOUNTS) or agents_per_account * accounts > len(_AGENTS):
        raise ValueError(f"at most {len(_ACCOUNTS)} accounts and {len(_AGENTS)} agents in all")
    rng = random.Random(seed)
    t0 = datetime(start.year, start.month, start.day)
    end = t0 + timedelta(days=days)
    data = ChatwootData(start=t0, end=end)
    agents: dict[int, list[int]] = {}
    for a in range(1, accounts + 1):
        created = t0 - timedelta(days=200 - 20 * a)
        data.accounts.append(Account(a, _ACCOUNTS[a - 1], created, created, 0))
        agents[a] = []
        for _ in range(agents_per_account):
            uid = len(data.users) + 1
            name = _AGENTS[uid - 1]
            email = f"{name.split()[0].lower()}.{uid}@smarterbot.cl"
            data.users.append(User(uid, "email", email, name, name.split()[0], email, created, created, None))
            agents[a].append(uid)
        for name, channel, _, _ in _INBOXES:
            iid = len(data.inboxes) + 1
            data.inboxes.append(
                Inbox(iid, iid, a, name, created, created, channel, False, "America/Santiago")
            )
    weights = {a.id: 1.0 / a.id for a in data.accounts}
    per_account = {a: conversations_per_day * w / sum(weights.values()) for a, w in weights.items()}
    starts: list[tuple[datetime, Inbox]] = []
    for inbox in data.inboxes:
        share = next(s for n, _, s, _ in _INBOXES if n == inbox.name)
        for d in range(days):
            day = t0 + timedelta(days=d)
            for _ in range(poisson(rng, per_account[inbox.account_id] * share)):
                # office hours are busier: a time of day drawn around 15:00 UTC (noon in Santiago)
                hour = min(max(rng.gauss(15, 4), 0), 23.999)
                starts.append((day + timedelta(hours=hour), inbox))
    starts.sort(key=lambda s: (s[0], s[1].id))
    _play(rng, data, starts, agents)
    return data


def _play(rng: random.Random, data: ChatwootData, starts: list, agents: dict[int, list[int]]) -> None:
    display: dict[int, int] = {}
    messages: list[tuple] = []
    events: list[tuple] = []
    runs: list[_Run] = []
    for cid, (created, inbox) in enumerate(starts, start=1):
        display[inbox.account_id] = display.get(inbox.account_id, 0) + 1
        conv = {
            "id": cid, "account_id": inbox.account_id, "inbox_id": inbox.id, "status": OPEN,
            "assignee_id": None, "created_at": created, "updated_at": created,
            "contact_id": 9000 + rng.randrange(5000), "display_id": display[inbox.account_id],
            "last_activity_at": created,
            "first_reply_created_at": None, "waiting_since": None,
        }  # fmt: skip
        run = _Run(conv, inbox, agents[inbox.account_id], data.end)
        _simulate(rng, run)
        runs.append(run)
        messages.extend((*m, inbox) for m in run.messages)
        events.extend((*e, inbox) for e in run.events)
    data.conversations = [Conversation(**run.conv) for run in runs]
    messages.sort(key=lambda m: (m[0], m[1]))
    for mid, (at, conv_id, text, kind, private, sender_type, sender_id, inbox) in enumerate(
        messages, start=1
    ):
        data.messages.append(
            Message(
                mid,
                text,
                inbox.account_id,
                inbox.id,
                conv_id,
                kind,
                at,
                at,
                private,
                0,
                0,
                sender_type,
                sender_id,
            )
        )
    events.sort(key=lambda e: (e[0], e[1]))
    for eid, (at, conv_id, name, value, user_id, started, inbox) in enumerate(events, start=1):
        data.reporting_events.append(
            ReportingEvent(
                eid, name, value, inbox.account_id, inbox.id, user_id, conv_id, at, at, 0.0, started, at
            )
        )


def chatwoot_schema_sql() -> str:
    """The project's Chatwoot DDL (``provisioning/chatwoot/schema.sql``): the tables and columns read."""
    return (resources.files("smarter_obs.provisioning") / "chatwoot" / "schema.sql").read_text(
        encoding="utf-8"
    )


def create_chatwoot_schema(conn: Any) -> None:
    """Create the Chatwoot tables of ``provisioning/chatwoot/schema.sql`` in ``conn``'s database."""
    with conn.transaction():
        conn.execute(chatwoot_schema_sql())


_SERIAL_TABLES = ("accounts", "users", "inboxes", "conversations", "messages", "reporting_events")


def write_chatwoot(conn: Any, data: ChatwootData) -> dict[str, int]:
    """COPY every row into Chatwoot's tables (ours or Chatwoot's full schema), in one transaction, and
    move each id sequence past the ids written so a real Chatwoot could keep inserting."""
    from psycopg import sql

    from smarter_obs.seed._copy import copy_rows

    written: dict[str, int] = {}
    with conn.transaction():
        for table in _SERIAL_TABLES:
            written[table] = copy_rows(conn, table, getattr(data, table))
            conn.execute(
                sql.SQL("SELECT setval(pg_get_serial_sequence({t}, 'id'), (SELECT max(id) FROM {i}))").format(
                    t=sql.Literal(table), i=sql.Identifier(table)
                )
            )
    return written
