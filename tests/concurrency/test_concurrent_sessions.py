"""Concurrent requests through the handlers against a serialised moto server."""

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from agent_sessions_local.template import functions, load_template
from tests.conftest import load_event, with_session_id
from tests.support.inprocess_pool import InProcessPool as FunctionPool

pytestmark = pytest.mark.concurrency


def pool(logical_id: str) -> FunctionPool:
    return FunctionPool(functions(load_template())[logical_id])


def test_twenty_concurrent_revokes_revoke_once_and_all_agree(serialised_dynamodb: Any) -> None:
    created = json.loads(pool("CreateSessionFunction").invoke(load_event("create_session"))["body"])
    revoke = pool("RevokeSessionFunction")
    event = with_session_id(load_event("revoke_session"), created["id"])
    with ThreadPoolExecutor(max_workers=20) as executor:
        answers = list(executor.map(lambda _: revoke.invoke(event), range(20)))
    assert {answer["statusCode"] for answer in answers} == {200}
    sessions = [json.loads(answer["body"])["session"] for answer in answers]
    assert {session["status"] for session in sessions} == {"revoked"}
    assert len({session["revoked_at"] for session in sessions}) == 1


def test_fifty_concurrent_creates_make_fifty_distinct_sessions(serialised_dynamodb: Any) -> None:
    create = pool("CreateSessionFunction")
    with ThreadPoolExecutor(max_workers=10) as executor:
        answers = list(executor.map(lambda _: create.invoke(load_event("create_session")), range(50)))
    assert [answer["statusCode"] for answer in answers] == [201] * 50
    ids = {json.loads(answer["body"])["id"] for answer in answers}
    assert len(ids) == 50
    listed = serialised_dynamodb.scan(TableName="agent-sessions-test", Select="COUNT")["Count"]
    assert listed == 50
