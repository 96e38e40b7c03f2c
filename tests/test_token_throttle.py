"""POST /api/auth/token/ answers 429 past its rate, per client address (smartsession/throttles.py)."""

from __future__ import annotations

from smartsession.throttles import TokenRequestThrottle

PASSWORD = "ada-passphrase"  # the `ada` fixture's


def ask_for_token(client, address: str = "127.0.0.1"):
    return client.post("/api/auth/token/", {"username": "ada", "password": PASSWORD},
                       content_type="application/json", REMOTE_ADDR=address)


def test_it_answers_429_past_the_rate(client, ada):
    allowed = TokenRequestThrottle().num_requests
    for _ in range(allowed):
        assert ask_for_token(client).status_code == 200
    refused = ask_for_token(client)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # Per address: a client elsewhere is not slowed down by this one.
    assert ask_for_token(client, address="10.9.9.9").status_code == 200


def test_it_counts_the_address_the_proxy_saw_not_a_forwarded_header(client, ada):
    # Behind nginx, Daphne's --proxy-headers puts the client's address in REMOTE_ADDR; a client-sent
    # X-Forwarded-For must not give it a fresh allowance on every request.
    allowed = TokenRequestThrottle().num_requests
    for number in range(allowed):
        client.post("/api/auth/token/", {"username": "ada", "password": PASSWORD}, content_type="application/json",
                    HTTP_X_FORWARDED_FOR=f"10.0.0.{number}")
    assert ask_for_token(client).status_code == 429
