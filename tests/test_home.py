def test_it_says_what_smartsession_is(client):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "real-time engagement monitor" in page
    assert 'href="/admin/"' in page
    assert 'href="/static/css/smartsession.css"' in page
