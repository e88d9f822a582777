from tests.conftest import API, ApiHarness


async def test_validate_returns_original_fields(api: ApiHarness) -> None:
    r = await api.client.post(
        f"{API}/policy/validate",
        json={
            "recipient_email": "editor@example.com",
            "sender_email": "me@sender.example",
            "subject": "Hi",
        },
        headers=api.alice.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    print(body)
    for field in (
        "allowed",
        "reason",
        "legal_basis",
        "daily_user_count",
        "daily_user_limit",
        "daily_domain_count",
        "daily_domain_limit",
        "region",
    ):
        assert field in body
