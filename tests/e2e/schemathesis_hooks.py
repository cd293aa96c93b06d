"""Schemathesis hooks (SCHEMATHESIS_HOOKS): a client's Idempotency-Key names one request.

Schemathesis draws header values independently of bodies, so it would send one key with two
different bodies, which the API rightly refuses (422 IDEMPOTENCY_KEY_REUSED: a key is bound to
its first request). A real client makes a key per request (the ZendFi SDK: `zfi_idem_<ms>_<random>`),
so each schema-valid key drawn is made unique just before it is sent; invalid ones are sent as drawn. Reusing a key
is tested where it is meant to be (tests/e2e/test_sdk_behaviours_over_http.py).
"""

import re
import uuid
from typing import Any

import schemathesis

_VALID_KEY = re.compile(r"[ -~]{1,255}")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Every phase's requests (coverage, fuzzing, stateful) pass here just before they are sent.

    Only schema-valid cases are touched: a negative case must reach the server as drawn (changing
    it makes schemathesis revalidate it, which would, say, put back a header it meant to leave out).
    """
    if case.meta is not None and case.meta.generation.mode.is_negative:
        return
    headers = case.headers or {}
    for name in [name for name in headers if name.lower() == "idempotency-key"]:
        if isinstance(headers[name], str) and _VALID_KEY.fullmatch(headers[name]):
            headers[name] = f"{headers[name][:200]}-{uuid.uuid4().hex}"
