def test_it_says_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_it_answers_head(client):
    assert client.head("/healthz").status_code == 200


def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405
