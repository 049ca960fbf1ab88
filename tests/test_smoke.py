async def test_walkthrough(client, factory):
    admin = await factory.admin()
    r = await client.get("/api/profile/", headers=admin.headers)
    assert r.status_code == 200
    assert r.json()["user_obj"]["role"] == "ADMIN"
    user = await factory.member_of(admin)
    r = await client.get("/api/users/", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["active_users"]["active_users_count"] == 2
    r = await client.get("/api/org", headers=user.bearer)
    assert r.status_code == 200, r.text
    assert r.json()["profile_org_list"][0]["org"]["api_key"] is None
