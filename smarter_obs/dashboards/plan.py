"""What publishing would change: one plan per target, one change per object, each with a readable diff.

A target (``grafana``, ``metabase``) compares the objects it would send (compiled payloads, in a normal
form) with what the server holds (read back, in the same normal form) and records, per object, one of

    create      the server does not have it
    update      it differs (``diff`` says how); ``drift`` is set when the server's copy was changed
                outside smarter-obs since we published it: ``publish`` then refuses without ``--force``
    unchanged   nothing to send
    delete      published by smarter-obs, no longer defined (removed by ``publish --prune``)

Object kinds are plain strings (``folder``, ``datasource``, ``dashboard``, ``collection``, ``card``; alert
rules and contact points later), so a new kind needs no change here. ``plan`` prints the plans,
``publish`` applies them, ``doctor`` reports their pending changes as drift.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ACTIONS", "Action", "Change", "Plan", "diff", "exit_code"]

Action = Literal["create", "update", "unchanged", "delete"]
ACTIONS: tuple[str, ...] = ("create", "update", "unchanged", "delete")
_SYMBOL = {"create": "+", "update": "~", "unchanged": "=", "delete": "-"}
#: List items are matched by the first of these keys they all carry (panels by id, targets by refId, …).
_ITEM_KEYS = ("id", "key", "refId", "name", "uid", "card", "parameter_id")


@dataclass
class Change:
    """One object's planned change. ``desired``/``remote`` hold what the target needs to apply it."""

    target: str
    kind: str
    key: str
    title: str
    action: Action
    diff: list[str] = field(default_factory=list)
    drift: str | None = None
    note: str | None = None
    desired: Any = None
    remote: Any = None

    @property
    def pending(self) -> bool:
        return self.action != "unchanged"

    def line(self) -> str:
        head = f"{_SYMBOL[self.action]} {self.kind} {self.title!r} ({self.key}): {self.action}"
        if self.drift:
            head += f" — CHANGED ON THE SERVER: {self.drift}; publish refuses without --force"
        if self.note:
            head += f" — {self.note}"
        return head

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kind": self.kind,
            "key": self.key,
            "title": self.title,
            "action": self.action,
            "diff": list(self.diff),
            "drift": self.drift,
            "note": self.note,
        }


@dataclass
class Plan:
    """The changes of one target, plus warnings (e.g. a referenced datasource missing on the server)."""

    target: str
    url: str
    changes: list[Change] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def add(self, change: Change) -> Change:
        self.changes.append(change)
        return change

    def pending(self, *, prune: bool = True) -> list[Change]:
        return [c for c in self.changes if c.pending and (prune or c.action != "delete")]

    def counts(self) -> dict[str, int]:
        return {action: sum(1 for c in self.changes if c.action == action) for action in ACTIONS}

    def render(self, *, verbose: bool = False) -> str:
        """Text for a person: a header, one line per object (unchanged ones only when ``verbose``)."""
        counts = self.counts()
        summary = ", ".join(f"{n} {action}" for action, n in counts.items() if n) or "nothing defined"
        lines = [f"{self.target} ({self.url}): {summary}"]
        lines += [f"  warning: {w}" for w in self.warnings]
        for change in self.changes:
            if change.pending or verbose:
                lines.append("  " + change.line())
                lines += ["      " + d for d in change.diff]
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "url": self.url,
            "counts": self.counts(),
            "warnings": list(self.warnings),
            "changes": [c.as_dict() for c in self.changes],
        }


def exit_code(plans: Iterable[Plan]) -> int:
    """``plan``'s exit code: 0 nothing to change, 2 something would change."""
    return 2 if any(p.pending() for p in plans) else 0


# -- readable diffs -----------------------------------------------------------------------------------------


def diff(old: Any, new: Any, *, limit: int = 60) -> list[str]:
    """Lines saying how ``new`` differs from ``old``: ``~ path: old → new``, ``+ path: value``, ``- path``.

    Dicts are compared by key, lists of objects by an identifying key when every item has one (panels by
    ``id``, targets by ``refId``), other lists by position. Multi-line strings (SQL) get a unified diff.
    """
    out: list[str] = []
    _diff(old, new, "", out)
    if len(out) > limit:
        out = [*out[:limit], f"… and {len(out) - limit} more lines"]
    return out


def _short(value: Any, width: int = 80) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return text if len(text) <= width else text[: width - 1] + "…"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _item_key(old: list[Any], new: list[Any]) -> str | None:
    """The key identifying the items of both lists (unique within each), if there is one."""
    if not old + new or not all(isinstance(i, dict) for i in old + new):
        return None
    for key in _ITEM_KEYS:
        ok = True
        for items in (old, new):
            values = [i.get(key) for i in items]
            if any(v is None or isinstance(v, (dict, list)) for v in values) or len(
                set(map(str, values))
            ) < len(values):
                ok = False
        if ok:
            return key
    return None


def _diff(old: Any, new: Any, path: str, out: list[str]) -> None:
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        _diff_dict(old, new, path, out)
    elif isinstance(old, list) and isinstance(new, list):
        key = _item_key(old, new)
        if key is None:
            _diff_positions(old, new, path, out)
        else:
            _diff_keyed(old, new, key, path, out)
    elif isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        out.append(f"~ {path}:")
        lines = difflib.unified_diff(old.splitlines(), new.splitlines(), "server", "code", n=1, lineterm="")
        out += ["    " + line for line in list(lines)[2:]]
    else:
        out.append(f"~ {path}: {_short(old)} → {_short(new)}")


def _diff_dict(old: dict[Any, Any], new: dict[Any, Any], path: str, out: list[str]) -> None:
    for key in sorted(set(old) | set(new), key=str):
        sub = _join(path, key)
        if key not in old:
            out.append(f"+ {sub}: {_short(new[key])}")
        elif key not in new:
            out.append(f"- {sub}: {_short(old[key])}")
        else:
            _diff(old[key], new[key], sub, out)


def _diff_keyed(old: list[Any], new: list[Any], key: str, path: str, out: list[str]) -> None:
    olds, news = {str(i[key]): i for i in old}, {str(i[key]): i for i in new}
    for ident in list(olds) + [k for k in news if k not in olds]:
        sub = f"{path}[{key}={ident}]"
        if ident not in olds:
            out.append(f"+ {sub}: {_short(news[ident])}")
        elif ident not in news:
            out.append(f"- {sub}")
        else:
            _diff(olds[ident], news[ident], sub, out)
    if [k for k in olds if k in news] != [k for k in news if k in olds]:
        out.append(f"~ {path}: order changed")


def _diff_positions(old: list[Any], new: list[Any], path: str, out: list[str]) -> None:
    for index in range(max(len(old), len(new))):
        sub = f"{path}[{index}]"
        if index >= len(old):
            out.append(f"+ {sub}: {_short(new[index])}")
        elif index >= len(new):
            out.append(f"- {sub}: {_short(old[index])}")
        else:
            _diff(old[index], new[index], sub, out)
