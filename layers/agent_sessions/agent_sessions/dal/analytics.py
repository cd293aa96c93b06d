"""Analytics counters: `STATS#<account>#D#<day>`, `STATS#<account>#A#<agent>#D#<day>`, `STATS#<account>`.

Counters are flat number attributes (`succeeded`, `volume`, `failed`, `T:<token>` volume per token,
`A:<agent>` live sessions per agent), moved with ADD, each tally in one transaction with the mark
of its source (`STATSRC#…`, kept three days: the stream redelivers for 24 h).
"""

from __future__ import annotations

from typing import Any

from agent_sessions.dal.analytics_ports import DayTally, DayTotals
from agent_sessions.dal.table import TableAccess, source_mark


def _day_key(account_id: str, day: str, agent_id: str | None = None) -> dict[str, Any]:
    agent = f"A#{agent_id}#" if agent_id is not None else ""
    return {"pk": {"S": f"STATS#{account_id}#{agent}D#{day}"}}


class DynamoAnalytics(TableAccess):
    """AnalyticsStore over the table."""

    def _add(self, key: dict[str, Any], amounts: dict[str, int]) -> dict[str, Any]:
        names = {f"#a{position}": name for position, name in enumerate(amounts)}
        values = {f":a{position}": {"N": str(amount)} for position, amount in enumerate(amounts.values())}
        return {
            "Update": {
                "TableName": self._table,
                "Key": key,
                "UpdateExpression": "ADD "
                + ", ".join(f"#a{position} :a{position}" for position in range(len(amounts))),
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _once(self, items: list[dict[str, Any]]) -> int:
        reasons = self.transact(items)
        return 1 if reasons is None else 0  # cancelled only by the mark: counted before

    def add_tally(self, source: str, account_id: str, tally: DayTally) -> int:
        amounts = {"succeeded": tally.succeeded, "volume": tally.volume_cents, "failed": tally.failed}
        if tally.volume_cents:
            amounts[f"T:{tally.token}"] = tally.volume_cents
        return self._once(
            [
                source_mark(self._table, f"STATSRC#{source}"),
                self._add(_day_key(account_id, tally.day), amounts),
                self._add(_day_key(account_id, tally.day, tally.agent_id), amounts),
            ]
        )

    def add_live_sessions(self, source: str, account_id: str, agent_id: str, delta: int) -> int:
        key = {"pk": {"S": f"STATS#{account_id}"}}
        return self._once(
            [source_mark(self._table, f"STATSRC#{source}"), self._add(key, {"live": delta, f"A:{agent_id}": delta})]
        )

    def read_tallies(self, account_id: str, agent_id: str | None, days: list[str]) -> tuple[list[DayTotals], int, int]:
        keys = [_day_key(account_id, day, agent_id) for day in days]
        account_key = {"pk": {"S": f"STATS#{account_id}"}}
        found = self._read_all([*keys, account_key])
        totals = [_totals(day, found.get(key["pk"]["S"], {})) for day, key in zip(days, keys, strict=True)]
        live, live_agents = _live(found.get(account_key["pk"]["S"], {}), agent_id)
        return totals, live, live_agents

    def _read_all(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The items under `keys` (100 per BatchGetItem, unprocessed keys asked again), by pk."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 100):
            request: dict[str, Any] = {self._table: {"Keys": keys[start : start + 100], "ConsistentRead": True}}
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.update({item["pk"]["S"]: item for item in response.get("Responses", {}).get(self._table, [])})
                request = response.get("UnprocessedKeys") or {}
        return found


def _live(account: dict[str, Any], agent_id: str | None) -> tuple[int, int]:
    """Live sessions and agents with one: the account's, or one agent's."""
    agents = {name[2:]: int(value["N"]) for name, value in account.items() if name.startswith("A:")}
    if agent_id is not None:
        live = agents.get(agent_id, 0)
        return live, 1 if live > 0 else 0
    return int(account.get("live", {}).get("N", 0)), sum(1 for count in agents.values() if count > 0)


def _totals(day: str, item: dict[str, Any]) -> DayTotals:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", 0))

    tokens = {name[2:]: int(value["N"]) for name, value in item.items() if name.startswith("T:")}
    return DayTotals(day, number("succeeded"), number("volume"), number("failed"), tokens)
